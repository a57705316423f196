package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/espfctl/espfctl/internal/sim"
)

// SummaryJSON writes the summary as one indented JSON object.
func SummaryJSON(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// SummaryText writes the summary for people. With table set (a terminal)
// columns are aligned and headings styled through paint; otherwise every
// line is plain "key<TAB>value…" for grep and cut.
func SummaryText(w io.Writer, s *Summary, table bool, paint Paint, base lipgloss.Style) error {
	var tw *tabwriter.Writer
	out := w
	if table {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		out = tw
	}
	head := func(t string) {
		if table {
			fmt.Fprintf(out, "%s\n", paint(base.Bold(true), t))
		}
	}
	bad := func(t string) string { return paint(base.Foreground(lipgloss.Color("1")).Bold(true), t) }
	good := func(t string) string { return paint(base.Foreground(lipgloss.Color("2")).Bold(true), t) }

	head("Run")
	dur := s.End.Sub(s.Start)
	if !s.Start.IsZero() {
		fmt.Fprintf(out, "start\t%s\n", s.Start.UTC().Format(time.RFC3339))
		fmt.Fprintf(out, "duration\t%s\n", dur.Round(time.Millisecond))
	}
	fmt.Fprintf(out, "events\t%d\n", s.Events)
	fmt.Fprintf(out, "attempts\t%d\n", s.Attempts)
	fmt.Fprintf(out, "rate\ttarget %.2f/s\tachieved %.2f/s\t%s\n", s.TargetRate, s.AchievedRate, ratio(s))
	if s.CapBound > 0 {
		fmt.Fprintf(out, "max-in-flight\t%s\n", bad(fmt.Sprintf("cap %d bound %d times, %s waited: the schedule slipped, latency counts it",
			s.MaxInFlight, s.CapBound, time.Duration(s.CapWaitMS*1e6).Round(time.Millisecond))))
	}
	if s.DrainExpired {
		fmt.Fprintf(out, "drain\t%s\n", bad("expired: events still waiting to be re-sent were cut short"))
	}
	if s.Interrupted {
		fmt.Fprintf(out, "interrupted\t%s\n", bad("yes"))
	}
	head("\nOutcome (events)")
	o := s.Outcomes
	okStr := func(n int64) string { return fmt.Sprint(n) }
	failStr := func(n int64) string {
		if n > 0 {
			return bad(fmt.Sprint(n))
		}
		return "0"
	}
	fmt.Fprintf(out, "delivered first try\t%s\n", good(okStr(o.DeliveredFirstTry)))
	fmt.Fprintf(out, "delivered after retries\t%s\n", okStr(o.DeliveredAfterRetry))
	fmt.Fprintf(out, "dropped by 4xx\t%s\n", failStr(o.DroppedBy4xx))
	fmt.Fprintf(out, "gave up\t%s\n", failStr(o.GaveUp))
	fmt.Fprintf(out, "still pending\t%s\n", failStr(o.StillPending))

	head("\nLatency (ms)\tp50\tp90\tp99\tp99.9\tmax")
	q := func(name string, v Quantiles) {
		fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\n", name, ms(v.P50MS), ms(v.P90MS), ms(v.P99MS), ms(v.P999MS), ms(v.MaxMS))
	}
	if !table {
		fmt.Fprintf(out, "latency_ms\tp50\tp90\tp99\tp99.9\tmax\n")
	}
	q("from intended", s.Latency)
	q("service", s.Service)
	q("send error", s.SendError)

	head("\nAnswers (attempts)")
	for _, k := range sortedKeys(s.ByAnswer) {
		fmt.Fprintf(out, "answer\t%s\t%d\n", k, s.ByAnswer[k])
	}
	head("\nEvent types")
	fmt.Fprintf(out, "type\tname\tevents\tdelivered\tdropped_4xx\tgave_up\n")
	for _, k := range sortedKeys(s.ByType) {
		c := s.ByType[k]
		fmt.Fprintf(out, "type\t%s\t%d\t%d\t%d\t%d\n", k, c.Events, c.Delivered, c.Dropped, c.GaveUp)
	}
	if s.Duplicates.Sent > 0 {
		head("\nDuplicates (idempotency)")
		fmt.Fprintf(out, "duplicates sent\t%d\n", s.Duplicates.Sent)
		for _, k := range sortedKeys(s.Duplicates.ByAnswer) {
			v := fmt.Sprint(s.Duplicates.ByAnswer[k])
			if k != "200" {
				v = bad(v + " (finding: an event sent twice must be answered 200)")
			}
			fmt.Fprintf(out, "duplicate answer\t%s\t%s\n", k, v)
		}
	}
	if len(s.Dropped) > 0 {
		head("\nDropped (the ESPF would not provision these)")
		for _, d := range s.Dropped {
			fmt.Fprintf(out, "dropped\ti_event=%d\t%s\t%d\n", d.IEvent, d.EventType, d.Status)
		}
	}
	if len(s.Accounts) > 0 {
		head("\nProvisioning status (ESPF API)")
		for _, a := range s.Accounts {
			since := "-"
			if a.SinceDeliveryMS != nil {
				since = ms(*a.SinceDeliveryMS) + "ms"
			}
			fmt.Fprintf(out, "account\t%s\t%s\t%s\t%d calls\t%s after delivery\n", a.Account, a.Status, a.Group, a.Calls, since)
		}
	}
	if s.APICallsFailed > 0 {
		fmt.Fprintf(out, "api calls rejected\t%s\n", bad(fmt.Sprint(s.APICallsFailed)))
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

func ratio(s *Summary) string {
	if s.TargetRate <= 0 {
		return ""
	}
	return fmt.Sprintf("ratio %.3f", s.AchievedRate/s.TargetRate)
}

func ms(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// NoAnswerWarning is how long requests may be in flight with no answer
// at all before the progress line warns.
const NoAnswerWarning = 10 * time.Second

// ProgressLine is the plain status line a run prints every 10 s when stderr
// is not a terminal (and redraws every second when it is). While requests
// are in flight and no answer has come for NoAnswerWarning, it ends with a
// warning that gives the age of the oldest request in flight.
func ProgressLine(p sim.Snapshot) string {
	line := fmt.Sprintf("elapsed %s\tsent %d\tin flight %d\tdelivered %d\tre-sending %d\tdropped %d\trate %.1f/s\tp99 %s",
		p.Elapsed.Round(time.Second), p.Sent, p.InFlight, p.Delivered, p.Resending, p.Dropped, p.Rate, p.P99.Round(100*time.Microsecond))
	if p.InFlight > 0 && p.SinceAnswer >= NoAnswerWarning {
		line += fmt.Sprintf("\twarning: no answer for %s, oldest request in flight %s",
			p.SinceAnswer.Round(time.Second), p.OldestInFlight.Round(time.Second))
	}
	return line
}
