package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/schema"
	"github.com/espfctl/espfctl/internal/term"
)

// RunReport is `espfctl run --json` and the --report-json file. Fields are
// added, never renamed.
type RunReport struct {
	SchemaVersion int               `json:"schema_version"` // schema.Version (docs/json.md)
	Scenario      string            `json:"scenario"`
	File          string            `json:"file"`
	Pass          bool              `json:"pass"`
	URL           string            `json:"url"`
	Builtin       bool              `json:"builtin_receiver"`
	ElapsedS      float64           `json:"elapsed_s"`
	Expectations  []ExpectationJSON `json:"expectations"`
	Summary       *Summary          `json:"summary"`
	Receiver      any               `json:"receiver,omitempty"`
	Measured      scenario.Measured `json:"measured"`
	Interrupted   bool              `json:"interrupted,omitempty"`
	Rejections    []Rejection       `json:"rejections,omitempty"` // the built-in receiver's answers other than 200, by reason
}

// ExpectationJSON is one evaluated expectation in RunReport.
type ExpectationJSON struct {
	Metric   string   `json:"metric"`
	Op       string   `json:"op"`
	Bound    float64  `json:"bound"`
	Expected string   `json:"expected"`
	Actual   *float64 `json:"actual"`
	Measured string   `json:"measured"`
	Pass     bool     `json:"pass"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
}

// Report is the run's JSON document.
func (r *Run) Report() RunReport {
	out := RunReport{SchemaVersion: schema.Version, Scenario: r.Scenario.Name, File: r.Scenario.File, Pass: r.Pass(), URL: r.URL,
		Builtin: r.Builtin, ElapsedS: r.Elapsed.Seconds(), Summary: r.Summary, Measured: r.Measured,
		Expectations: []ExpectationJSON{}, Interrupted: r.Interrupted(), Rejections: r.Rejections}
	if r.Receiver != nil {
		out.Receiver = r.Receiver
	}
	for _, o := range r.Outcomes {
		e := o.Expectation
		x := ExpectationJSON{Metric: e.Metric.Key, Op: e.Op, Bound: e.Value, Expected: e.String(), Measured: o.ActualText(),
			Pass: o.Pass, Line: e.Line, Col: e.Col}
		if o.Measured {
			v := o.Actual
			x.Actual = &v
		}
		out.Expectations = append(out.Expectations, x)
	}
	return out
}

// RunJSON writes the run's JSON document; indent for a file, one line for
// stdout.
func RunJSON(w io.Writer, r *Run, indent bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(r.Report())
}

// Checks are the run's expectations as the JUnit and HTML reports show
// them.
func (r *Run) Checks() []Check {
	var out []Check
	for _, o := range r.Outcomes {
		e := o.Expectation
		out = append(out, Check{Name: e.String(), Actual: o.ActualText(), Pass: o.Pass,
			Position: fmt.Sprintf("%s:%d:%d", r.Scenario.File, e.Line, e.Col)})
	}
	return out
}

// RunText prints the sender's summary, the built-in receiver's counts and
// the expectations, then the verdict: headings and aligned columns on a
// terminal (table), plain "key<TAB>value…" lines otherwise (for grep and
// cut).
func RunText(w io.Writer, r *Run, lay term.Layout) error {
	pal, table := lay.Palette, lay.Aligned
	t := lay.Table(w)
	writeSummary(t, r.Summary)
	runReceiver(t, r)
	runRejections(t, r)
	runExpectations(t, r)
	if err := t.Flush(); err != nil {
		return err
	}
	verdict := pal.Good("PASS")
	switch {
	case r.Interrupted():
		verdict = pal.Bad("INTERRUPTED")
	case !r.Pass():
		verdict = pal.Bad("FAIL")
	}
	elapsed := r.Elapsed.Round(10 * time.Millisecond)
	if table {
		_, err := fmt.Fprintf(w, "\n%s %s in %s: %s\n", verdict, esc(r.Scenario.Name), elapsed, Headline(r.Summary))
		return err
	}
	_, err := fmt.Fprintf(w, "result\t%s\t%s\t%s\t%s\n", verdict, esc(r.Scenario.Name), elapsed, Headline(r.Summary))
	return err
}

// runReceiver is the built-in receiver's view of the run.
func runReceiver(t *term.Table, r *Run) {
	st := r.Receiver
	if st == nil {
		return
	}
	t.Section("Built-in receiver")
	t.Tagged("receiver", fmt.Sprintf("deliveries %d", st.Deliveries), fmt.Sprintf("first-delivered %d", st.FirstDelivered),
		fmt.Sprintf("duplicates %d", st.Duplicates), fmt.Sprintf("auth failures %d", st.AuthFailures), fmt.Sprintf("faults %d", st.Faults))
}

// runRejections says why the built-in receiver did not answer 200.
func runRejections(t *term.Table, r *Run) {
	if len(r.Rejections) == 0 {
		return
	}
	t.Section("Rejected by the built-in receiver")
	for i, rj := range r.Rejections {
		if i == maxListed {
			t.More("rejected", int64(len(r.Rejections)-i))
			break
		}
		t.Tagged("rejected", esc(rj.String()))
	}
}

// maxListed is how many rows of a list a terminal report shows.
const maxListed = 20

// runExpectations is one line per expectation with its measured value.
func runExpectations(t *term.Table, r *Run) {
	pal := t.Palette()
	t.Section("Expectations")
	for _, c := range r.Checks() {
		mark := pal.Good("pass")
		if !c.Pass {
			mark = pal.Bad("FAIL")
		}
		t.Tagged("expect", mark, esc(c.Name), "measured "+esc(c.Actual), esc(c.Position))
	}
}

// RunJUnit writes the run's JUnit file: one testcase per expectation, the
// plain summary as system-out.
func RunJUnit(w io.Writer, r *Run) error {
	var sum strings.Builder
	_ = SummaryText(&sum, r.Summary, term.Layout{})
	checks := r.Checks()
	said := r.Summary.SaidText()
	for i := range checks {
		checks[i].Detail = said
	}
	if r.Interrupted() {
		checks = append(checks, InterruptedCheck("run", r.Elapsed))
	}
	return JUnit(w, r.Scenario.Name, r.Start, r.Elapsed, checks, sum.String())
}

// RunHTML writes the run's self-contained HTML report.
func RunHTML(w io.Writer, r *Run) error { return HTML(w, r.Page()) }

// Page is what the HTML report shows of the run.
func (r *Run) Page() Page {
	s := r.Summary
	o := s.Outcomes
	p := Page{Title: r.Scenario.Name, Subtitle: r.Scenario.File + " → " + r.URL, Generated: r.Start.Add(r.Elapsed),
		Pass: r.Pass(), Checks: r.Checks(), Series: r.Series, Headline: Headline(s), Interrupted: r.Interrupted(),
		Reasons:   r.reasons(),
		Reordered: s.Reordered, FinalState: s.FinalState, APICalls: s.APICalls, APIEntities: s.APIEntities,
		Durability: s.Durability,
		Accounts:   s.Accounts, APICallsFailed: s.APICallsFailed,
		Outcomes: []Bar{{Label: "delivered first try", Value: o.DeliveredFirstTry, Class: "ok"},
			{Label: "delivered after retries", Value: o.DeliveredAfterRetry, Class: "ok"},
			{Label: "dropped (4xx)", Value: o.DroppedBy4xx, Class: "warn"},
			{Label: "gave up", Value: o.GaveUp, Class: "bad"},
			{Label: "still pending", Value: o.StillPending, Class: "bad"}}}
	for _, k := range byCount(s.ByAnswer) {
		class := "bad"
		switch {
		case k == "200":
			class = "ok"
		case strings.HasPrefix(k, "4") && len(k) == 3:
			class = "warn"
		}
		p.Answers = append(p.Answers, Bar{Label: k, Value: s.ByAnswer[k], Class: class})
	}
	if len(s.Phases) > 1 {
		p.Phases = s.Phases
	}
	if r.Interrupted() {
		p.Note = InterruptedCheck("run", r.Elapsed).Actual
		p.Checks = append(p.Checks, InterruptedCheck("run", r.Elapsed))
	}
	l, t := s.Latency, s.TimeToDelivery
	p.Stats = [][2]string{
		{"events", fmt.Sprint(s.Events)}, {"attempts", fmt.Sprint(s.Attempts)},
		{"target rate", fmt.Sprintf("%.2f/s", s.TargetRate)}, {"achieved rate", fmt.Sprintf("%.2f/s", s.AchievedRate)},
		{"time to delivery p50 / p90 / p99 / p99.9 / max (per event, across re-sends)", noFigure(t, fmt.Sprintf("%s / %s / %s / %s / %s", dur(t.P50MS), dur(t.P90MS), dur(t.P99MS), dur(t.P999MS), dur(t.MaxMS)))},
		{"latency p50 / p90 / p99 / p99.9 / max (per attempt, from intended send time)", noFigure(l, fmt.Sprintf("%.1f / %.1f / %.1f / %.1f / %.1f ms", l.P50MS, l.P90MS, l.P99MS, l.P999MS, l.MaxMS))},
		{"service time p50 / p99", noFigure(s.Service, fmt.Sprintf("%.1f / %.1f ms", s.Service.P50MS, s.Service.P99MS))},
		{SenderLagNote + ": p50 / p99", noFigure(s.SenderLag, fmt.Sprintf("%.1f / %.1f ms", s.SenderLag.P50MS, s.SenderLag.P99MS))},
		{"duplicates sent / findings", fmt.Sprintf("%d / %d", s.Duplicates.Sent, s.Duplicates.Findings)},
		{"elapsed", r.Elapsed.Round(1e7).String()},
	}
	return p
}

// noFigure is text, or "–" when q measured nothing (time to delivery when
// nothing was delivered): no figure, not 0.
func noFigure(q Quantiles, text string) string {
	if q.Count == 0 {
		return "–"
	}
	return text
}

// reasons are why attempts were not answered 200, one row per reason,
// each failed attempt in one row only, in the text report's words: the
// built-in receiver's reasons for its answers, then the attempts without
// an answer with their fix (the receiver's own "no answer" rows are the
// same attempts: they are left out), then what the Application said.
func (r *Run) reasons() []Reason {
	var out []Reason
	for _, rj := range r.Rejections {
		if rj.Status == 0 && len(r.Summary.Errors) > 0 {
			continue // counted below, from the sender's side
		}
		answer, class := "no answer", "bad"
		if rj.Status != 0 {
			answer = fmt.Sprint(rj.Status)
		}
		if espf.Is4xx(rj.Status) { // dropped, not re-sent
			class = "warn"
		}
		out = append(out, Reason{Answer: answer, Count: rj.Count, Text: rj.Reason + " (built-in receiver)", Class: class})
	}
	for _, e := range r.Summary.Errors {
		out = append(out, Reason{Answer: e.Class, Count: e.Count, Text: e.Words(), Hint: e.Hint, Class: "bad"})
	}
	if r.Builtin { // the built-in receiver's rejections above are these answers, with its reasons
		return out
	}
	for _, f := range r.Summary.Failures {
		class := "bad"
		if espf.Is4xx(f.Status) {
			class = "warn"
		}
		out = append(out, Reason{Answer: fmt.Sprint(f.Status), Count: f.Count, Class: class,
			Text: fmt.Sprintf("the Application said: %s (i_event %d)", orEmpty(f.FirstLine), f.IEvent)})
	}
	return out
}

// byCount sorts keys by descending count, then by name.
func byCount(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	return keys
}
