package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/schema"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/term"
)

// SummaryJSON writes the summary as one indented JSON object (send --json,
// report --json), "schema_version" first.
func SummaryJSON(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		SchemaVersion int `json:"schema_version"`
		*Summary
	}{schema.Version, s})
}

// SummaryText writes the summary for people. Aligned (a terminal), columns
// line up on visible width under painted headings and the headline closes
// it; plain, every line is "key<TAB>value…" for grep and cut.
func SummaryText(w io.Writer, s *Summary, lay term.Layout) error {
	t := lay.Table(w)
	writeSummary(t, s)
	if t.Aligned() {
		t.Row()
		t.Row(lay.Palette.Head(Headline(s)))
	}
	return t.Flush()
}

// writeSummary writes every section of the summary to t.
func writeSummary(t *term.Table, s *Summary) {
	summaryRun(t, s)
	summaryOutcomes(t, s)
	summaryLatency(t, s)
	summaryPhases(t, s)
	summaryAnswers(t, s)
	summaryErrors(t, s)
	summaryFailures(t, s)
	summaryTypes(t, s)
	summaryDuplicates(t, s)
	summaryDropped(t, s)
	summaryShape(t, s)
	summaryOrder(t, s)
	summaryFinalState(t, s)
	summaryDurability(t, s)
	summaryAccounts(t, s)
	summaryAPICalls(t, s)
}

// Headline is the figure that answers the ESPF user's question, how long
// until an event is provisioned: "time to delivery p50 502ms p99 1.2s (100
// events)".
func Headline(s *Summary) string {
	q := s.TimeToDelivery
	if q.Count == 0 {
		return fmt.Sprintf("no event delivered (%d events)", s.Events)
	}
	out := fmt.Sprintf("time to delivery p50 %s p99 %s max %s (%d events", dur(q.P50MS), dur(q.P99MS), dur(q.MaxMS), s.Events)
	if s.PendingInTTD > 0 {
		out += fmt.Sprintf(", %d still pending counted with their age", s.PendingInTTD)
	}
	return out + ")"
}

// dur renders milliseconds as a rounded duration: 502ms, 1.25s, 3m2s.
func dur(msv float64) string {
	d := time.Duration(msv * float64(time.Millisecond))
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// summaryRun is the run's span, size and rate, and how it ended.
func summaryRun(t *term.Table, s *Summary) {
	bad := t.Palette().Bad
	t.Section("Run")
	if !s.Start.IsZero() {
		fmt.Fprintf(t, "start\t%s\n", s.Start.UTC().Format(time.RFC3339))
		fmt.Fprintf(t, "duration\t%s\n", s.End.Sub(s.Start).Round(time.Millisecond))
	}
	fmt.Fprintf(t, "events\t%d\n", s.Events)
	if s.Payload != "" {
		fmt.Fprintf(t, "payload\t%s\n", s.Payload)
	}
	fmt.Fprintf(t, "attempts\t%d\n", s.Attempts)
	fmt.Fprintf(t, "rate\ttarget %.2f/s\tachieved %.2f/s\t%s\n", s.TargetRate, s.AchievedRate, ratio(s))
	if s.CapBound > 0 {
		fmt.Fprintf(t, "max-in-flight\t%s\n", bad(fmt.Sprintf("cap %d bound %d times, %s waited: the schedule slipped, latency counts it",
			s.MaxInFlight, s.CapBound, time.Duration(s.CapWaitMS*1e6).Round(time.Millisecond))))
	}
	if s.DrainExpired {
		fmt.Fprintf(t, "drain\t%s\n", bad("expired: events still waiting to be re-sent were cut short"))
	}
	if s.Interrupted {
		fmt.Fprintf(t, "interrupted\t%s\n", bad("yes"))
	}
}

// summaryOutcomes counts events by how they ended.
func summaryOutcomes(t *term.Table, s *Summary) {
	pal := t.Palette()
	failStr := func(n int64) string {
		if n > 0 {
			return pal.Bad(fmt.Sprint(n))
		}
		return "0"
	}
	o := s.Outcomes
	t.Section("Outcome (events)")
	fmt.Fprintf(t, "delivered first try\t%s\n", pal.Good(fmt.Sprint(o.DeliveredFirstTry)))
	fmt.Fprintf(t, "delivered after retries\t%d\n", o.DeliveredAfterRetry)
	fmt.Fprintf(t, "dropped by 4xx\t%s\n", failStr(o.DroppedBy4xx))
	fmt.Fprintf(t, "gave up\t%s\n", failStr(o.GaveUp))
	fmt.Fprintf(t, "still pending\t%s\n", failStr(o.StillPending))
	if o.Superseded > 0 {
		fmt.Fprintf(t, "superseded (coalesced)\t%d\n", o.Superseded)
	}
}

// SenderLagNote says what the sender lag row is, wherever it is printed.
const SenderLagNote = "sender lag: how far behind its schedule espfctl itself sent each request (its own delay, not the Application's)"

// summaryLatency is the quantiles of latency, service time and sender lag,
// and a line saying what sender lag is.
func summaryLatency(t *term.Table, s *Summary) {
	t.Section("Latency (ms)", "p50", "p90", "p99", "p99.9", "max")
	if !t.Aligned() {
		t.Row("latency_ms", "p50", "p90", "p99", "p99.9", "max")
	}
	q := func(name string, v Quantiles) {
		if v.Count == 0 {
			t.Row(name, "-", "-", "-", "-", "-") // nothing measured, not 0 ms
			return
		}
		t.Row(name, ms(v.P50MS), ms(v.P90MS), ms(v.P99MS), ms(v.P999MS), ms(v.MaxMS))
	}
	q("time to delivery", s.TimeToDelivery)
	q("from intended", s.Latency)
	q("service", s.Service)
	q("sender lag", s.SenderLag)
	if t.Aligned() {
		t.Row()
		t.Row(t.Palette().Dim(SenderLagNote))
		return
	}
	t.Row("note", SenderLagNote)
}

// summaryAnswers counts attempts by answer.
func summaryAnswers(t *term.Table, s *Summary) {
	t.Section("Answers (attempts)")
	for _, k := range sortedKeys(s.ByAnswer) {
		t.Tagged("answer", esc(k), fmt.Sprint(s.ByAnswer[k]))
	}
}

// summaryPhases is each schedule phase's rates, outcomes and latencies,
// when there is more than one. A terminal gets the columns that fit 80
// columns (failed is dropped + gave up + pending); plain lines have them all.
func summaryPhases(t *term.Table, s *Summary) {
	if len(s.Phases) < 2 {
		return
	}
	t.Section("Phases", "events", "target/s", "achieved", "delivered", "failed", "delivery p99", "latency p99")
	if !t.Aligned() {
		t.Row("phase", "name", "events", "target_per_s", "achieved_per_s", "delivered", "dropped_4xx", "gave_up", "pending",
			"ttd_p50_ms", "ttd_p99_ms", "latency_p99_ms")
	}
	for _, p := range s.Phases {
		o := p.Outcomes
		delivered := o.DeliveredFirstTry + o.DeliveredAfterRetry
		if t.Aligned() {
			failed := fmt.Sprint(o.DroppedBy4xx + o.GaveUp + o.StillPending)
			if failed != "0" {
				failed = t.Palette().Bad(failed)
			}
			t.Row(esc(phaseLabel(p)), fmt.Sprint(p.Events), fmt.Sprintf("%.2f", p.TargetRate), fmt.Sprintf("%.2f", p.AchievedRate),
				fmt.Sprint(delivered), failed, dur(p.TimeToDelivery.P99MS), dur(p.Latency.P99MS))
			continue
		}
		t.Row("phase", esc(phaseLabel(p)), fmt.Sprint(p.Events), fmt.Sprintf("%.2f", p.TargetRate), fmt.Sprintf("%.2f", p.AchievedRate),
			fmt.Sprint(delivered), fmt.Sprint(o.DroppedBy4xx), fmt.Sprint(o.GaveUp), fmt.Sprint(o.StillPending),
			ms(p.TimeToDelivery.P50MS), ms(p.TimeToDelivery.P99MS), ms(p.Latency.P99MS))
	}
}

// summaryErrors is every attempt that got no answer, by class, with the
// first one's words and the fix.
func summaryErrors(t *term.Table, s *Summary) {
	if len(s.Errors) == 0 {
		return
	}
	pal := t.Palette()
	t.Section("Errors (attempts without an answer)")
	for _, e := range s.Errors {
		t.Tagged("error", pal.Bad(esc(e.Class)), fmt.Sprintf("× %d", e.Count), esc(e.Words()))
		if e.Hint != "" {
			t.Tagged("error", "", "", "fix: "+esc(e.Hint))
		}
	}
}

// summaryFailures is what the Application said when it did not deliver,
// by status and its body's first line, with one example i_event.
func summaryFailures(t *term.Table, s *Summary) {
	if len(s.Failures) == 0 {
		return
	}
	pal := t.Palette()
	t.Section("What the Application said (answers other than 200, and 200s whose body reads as a failure)")
	if r := s.Refused; r != nil {
		t.Tagged("said", pal.Bad("401/403"), fmt.Sprintf("× %d of %d", r.Count, r.Attempts),
			"the Application refused the "+esc(r.Credentials)+": "+r.Hint, "")
	}
	for _, f := range s.Failures {
		line := orEmpty(f.FirstLine)
		status := fmt.Sprint(f.Status)
		if f.Status == 200 {
			status = "200 (a failure)"
		}
		t.Tagged("said", pal.Bad(status), fmt.Sprintf("× %d", f.Count), esc(line), fmt.Sprintf("i_event %d", f.IEvent))
	}
	t.More("said", s.FailuresUnlisted)
}

// SaidText is what the Application said, one line per group, for a
// failure's text (JUnit): "500 × 12: PDOException: SQLSTATE[HY000]…
// (i_event 17)"; "" when it said nothing but 200.
func (s *Summary) SaidText() string {
	var b strings.Builder
	if r := s.Refused; r != nil {
		fmt.Fprintf(&b, "%d of %d attempts were answered 401 or 403: the Application refused the %s: %s\n", r.Count, r.Attempts, esc(r.Credentials), r.Hint)
	}
	for _, f := range s.Failures {
		fmt.Fprintf(&b, "the Application answered %d × %d: %s (i_event %d)\n", f.Status, f.Count, esc(orEmpty(f.FirstLine)), f.IEvent)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// orEmpty is line, or "(empty body)".
func orEmpty(line string) string {
	if line == "" {
		return "(empty body)"
	}
	return line
}

// summaryTypes counts events by type and outcome.
func summaryTypes(t *term.Table, s *Summary) {
	t.Section("Event types", "events", "delivered", "dropped (4xx)", "gave up")
	if !t.Aligned() {
		t.Row("type", "name", "events", "delivered", "dropped_4xx", "gave_up")
	}
	for _, k := range sortedKeys(s.ByType) {
		c := s.ByType[k]
		t.Tagged("type", esc(k), fmt.Sprint(c.Events), fmt.Sprint(c.Delivered), fmt.Sprint(c.Dropped), fmt.Sprint(c.GaveUp))
	}
}

// summaryDuplicates says how duplicates were answered; anything but 200 is
// a finding.
func summaryDuplicates(t *term.Table, s *Summary) {
	if s.Duplicates.Sent == 0 {
		return
	}
	t.Section("Duplicates (idempotency)")
	fmt.Fprintf(t, "duplicates sent\t%d\n", s.Duplicates.Sent)
	for _, k := range sortedKeys(s.Duplicates.ByAnswer) {
		v := fmt.Sprint(s.Duplicates.ByAnswer[k])
		if k != "200" {
			v = t.Palette().Bad(v + " (finding: an event sent twice must be answered 200)")
		}
		fmt.Fprintf(t, "duplicate answer\t%s\t%s\n", esc(k), v)
	}
}

// summaryDropped lists the first events the ESPF would not provision.
func summaryDropped(t *term.Table, s *Summary) {
	if len(s.Dropped) == 0 {
		return
	}
	t.Section("Dropped (the ESPF would not provision these)")
	for _, d := range s.Dropped {
		t.Tagged("dropped", fmt.Sprintf("i_event=%d", d.IEvent), esc(d.EventType), fmt.Sprint(d.Status))
	}
	t.More("dropped", s.Outcomes.DroppedBy4xx-int64(len(s.Dropped)))
}

// summaryAccounts is what the ESPF API mock saw.
func summaryAccounts(t *term.Table, s *Summary) {
	if len(s.Accounts) > 0 {
		t.Section("Provisioning status (ESPF API)")
		for _, a := range accountRows(s.Accounts) {
			t.Tagged("account", esc(a.Account), esc(a.Status), esc(a.Group), fmt.Sprintf("%d calls", a.Calls), a.Since+" after delivery")
		}
	}
	if s.APICallsFailed > 0 {
		fmt.Fprintf(t, "api calls rejected\t%s\n", t.Palette().Bad(fmt.Sprint(s.APICallsFailed)))
	}
}

// accountRow is one account's latest provisioning status as the text and
// HTML reports show it.
type accountRow struct {
	Account, Status, Group string
	Calls                  int
	Since                  string // from the delivery to the final status (OK or FAILED): "20.6ms"; "-" without one
}

// accountRows are the accounts the ESPF API mock saw, in the summary's
// order (by account).
func accountRows(accts []espfapi.AccountStatus) []accountRow {
	out := make([]accountRow, 0, len(accts))
	for _, a := range accts {
		since := "-"
		if a.SinceDeliveryMS != nil {
			since = ms(*a.SinceDeliveryMS) + "ms"
		}
		out = append(out, accountRow{Account: a.Account, Status: a.Status, Group: a.Group, Calls: a.Calls, Since: since})
	}
	return out
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

// ProgressFit is the progress line for a terminal width columns wide: its
// fields two spaces apart in at most width-1 columns (the last column stays
// free, so the cursor never wraps and each redraw replaces the line). When
// the whole line does not fit, the elapsed time loses its label and the
// least telling fields go first: rate, re-sending, in flight, p99. Fields
// it does not know (a warning) are kept. width 0 keeps everything.
func ProgressFit(p sim.Snapshot, width int) string {
	fields := strings.Split(ProgressLine(p), "\t")
	line := strings.Join(fields, "  ")
	if width <= 0 || term.Width(line) < width {
		return line
	}
	fields[0] = strings.TrimPrefix(fields[0], "elapsed ")
	for _, drop := range []string{"", "rate ", "re-sending ", "in flight ", "p99 ", "dropped ", "delivered "} {
		kept := fields[:0:0]
		for _, f := range fields {
			if drop == "" || !strings.HasPrefix(f, drop) {
				kept = append(kept, f)
			}
		}
		fields = kept
		if line = strings.Join(fields, "  "); term.Width(line) < width {
			return line
		}
	}
	return term.Truncate(line, width-1)
}

// eta is " eta 1m20s": when the last of the planned events goes out at
// the average rate so far (the schedule's, unless the sender lags); ""
// before there is a rate, and once every planned event was sent.
func eta(p sim.Snapshot) string {
	left := p.Planned - p.Sent
	if left <= 0 || p.Sent == 0 || p.Elapsed <= 0 {
		return ""
	}
	rate := float64(p.Sent) / p.Elapsed.Seconds()
	return " eta " + (time.Duration(float64(left) / rate * float64(time.Second))).Round(time.Second).String()
}

// NoAnswerWarning is how long requests may be in flight with no answer
// at all before the progress line warns.
const NoAnswerWarning = 10 * time.Second

// ProgressLine is the plain status line a run prints every 10 s when stderr
// is not a terminal (and redraws every second when it is). While requests
// are in flight and no answer has come for NoAnswerWarning, it ends with a
// warning that gives the age of the oldest request in flight.
func ProgressLine(p sim.Snapshot) string {
	sent := fmt.Sprint(p.Sent)
	if p.Planned > 0 {
		sent += "/" + fmt.Sprint(p.Planned) + eta(p)
	}
	line := fmt.Sprintf("elapsed %s\tsent %s\tin flight %d\tdelivered %d\tre-sending %d\tdropped %d\trate %.1f/s\tp99 %s",
		p.Elapsed.Round(time.Second), sent, p.InFlight, p.Delivered, p.Resending, p.Dropped, p.Rate, p.P99.Round(100*time.Microsecond))
	if p.Unreachable != "" { // second, so that a narrow terminal keeps it
		elapsed, rest, _ := strings.Cut(line, "\t")
		line = elapsed + "\tunreachable: " + esc(p.Unreachable) + "\t" + rest
	}
	if p.InFlight > 0 && p.SinceAnswer >= NoAnswerWarning {
		line += fmt.Sprintf("\twarning: no answer for %s, oldest request in flight %s",
			p.SinceAnswer.Round(time.Second), p.OldestInFlight.Round(time.Second))
	}
	return line
}
