package report

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"text/template/parse"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/term"
)

// Page is what the HTML report shows. It is rendered as one self-contained
// file: inline CSS and SVG, no script, no external URL, so it opens offline.
type Page struct {
	Title       string
	Subtitle    string
	Generated   time.Time
	Pass        bool
	Interrupted bool   // cut short: the page says INTERRUPTED at the top
	Note        string // why it was cut short, or empty
	Headline    string // the time to delivery, in words
	Checks      []Check
	Stats       [][2]string // label, value
	Outcomes    []Bar       // events by how they ended
	Answers     []Bar       // attempts by answer
	Reasons     []Reason    // why attempts were not answered 200
	Phases      []PhaseSummary
	Series      *Series
	// Lifecycles and the PortaBilling API mock, as the summary has them
	// (Summary.Reordered, FinalState, APICalls, APIEntities): a nil or
	// empty one leaves its section out, as in the text report.
	Reordered   *entity.Reordered
	FinalState  *entity.FinalState
	Durability  *entity.Durability // --restart-cmd
	APICalls    []espfapi.MethodCalls
	APIEntities int
	// Accounts and APICallsFailed are the provisioning statuses the
	// Application reported through the ESPF API mock and the status calls
	// it refused (Summary.Accounts, APICallsFailed): with neither, the
	// section is left out, as in the text report.
	Accounts       []espfapi.AccountStatus
	APICallsFailed int64
}

// Bar is one labelled value of a bar chart. Class colors it: ok, warn, bad.
type Bar struct {
	Label string
	Value int64
	Class string
}

// Reason is one reason attempts were not answered 200, with its count and,
// where one exists, the fix.
type Reason struct {
	Answer string // "401", "no answer", "tls"
	Count  int64
	Text   string
	Hint   string
	Class  string // warn (dropped) or bad (re-sent)
}

// pageTmpl prints every value through outside (printOutside): whatever
// field it shows, now or later, its text is neutralised as the text
// report's is.
var pageTmpl = printOutside(template.Must(template.New("page").Funcs(tmplFuncs).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Interrupted}}INTERRUPTED: {{end}}{{.Title}} — espfctl report</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;color:#1d232a;padding:0 1em}
h1{margin-bottom:0}.sub{color:#5b6570;margin-top:.2em}
.verdict{display:inline-block;padding:.2em .8em;border-radius:4px;color:#fff;font-weight:600}
.pass{background:#1a7f37}.fail{background:#cf222e}
.banner{padding:.8em 1em;border-radius:4px;background:#fff1e5;border:2px solid #cf222e;color:#82071e;font-weight:600;font-size:16px}
.headline{font-size:20px;font-weight:600;margin:.6em 0}
table{border-collapse:collapse;margin:1em 0}td,th{padding:.3em .8em;border-bottom:1px solid #d8dee4;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.hint{color:#5b6570;font-size:13px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}@media(max-width:800px){.grid{grid-template-columns:1fr}}
svg{width:100%;height:auto;background:#fafbfc;border:1px solid #d8dee4;border-radius:4px}
svg text{font-size:11px;fill:#5b6570}.ok{fill:#2da44e}.warn{fill:#d4a72c}.bad{fill:#cf222e}
.lmean{stroke:#0969da;fill:none;stroke-width:1.5}.lp99{stroke:#bc4c00;fill:none;stroke-width:1.5}.lmax{stroke:#cf222e;fill:none;stroke-width:1;stroke-dasharray:3 2}
.target{stroke:#1d232a;fill:none;stroke-width:1.5;stroke-dasharray:6 3}
.phase{stroke:#8250df;stroke-width:1;stroke-dasharray:4 3}svg text.phase{fill:#8250df;stroke:none;font-weight:600}
.axis{stroke:#8c959f;stroke-width:1}.gridline{stroke:#eaeef2}
.legend span{display:inline-block;margin-right:1em}.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.sw.ok{background:#2da44e}.sw.warn{background:#d4a72c}.sw.bad{background:#cf222e}
th.part{padding-left:2em;font-weight:normal}td.badnum{color:#cf222e;font-weight:600}
</style></head><body>
{{if .Interrupted}}<p class="banner">INTERRUPTED{{if .Note}}: {{.Note}}{{end}}</p>{{end}}
<h1>{{.Title}}</h1>
<p class="sub">{{.Subtitle}} · generated {{.Generated.UTC.Format "2006-01-02 15:04:05 MST"}}</p>
<p>{{if .Interrupted}}<span class="verdict fail">INTERRUPTED</span>{{else if .Pass}}<span class="verdict pass">PASS</span>{{else}}<span class="verdict fail">FAIL</span>{{end}}</p>
{{if .Headline}}<p class="headline">{{.Headline}}</p>{{end}}
{{if .Checks}}<h2>Expectations</h2>
<table><tr><th></th><th>expectation</th><th>measured</th><th>where</th></tr>
{{range .Checks}}<tr><td>{{if .Pass}}<span class="verdict pass">ok</span>{{else}}<span class="verdict fail">FAIL</span>{{end}}</td><td>{{.Name}}</td><td class="num">{{.Actual}}</td><td>{{.Position}}</td></tr>
{{end}}</table>{{end}}
<h2>Time to delivery over time</h2>
<p class="legend"><span><i class="sw" style="background:#0969da"></i>mean</span><span><i class="sw" style="background:#bc4c00"></i>p99</span><span><i class="sw" style="background:#cf222e"></i>max</span>{{if .Phases}}<span><i class="sw" style="background:#8250df"></i>phase start</span>{{end}} — from each event's first intended send time to its 200, across re-sends; by when the event was due</p>
{{.TTDChart}}
<h2>Latency over time (each attempt)</h2>
<p class="legend"><span><i class="sw" style="background:#0969da"></i>mean</span><span><i class="sw" style="background:#bc4c00"></i>p99</span><span><i class="sw" style="background:#cf222e"></i>max</span> — from the attempt's intended send time to its answer</p>
{{.LatencyChart}}
<h2>Attempts over time</h2>
<p class="legend"><span><i class="sw" style="background:#2da44e"></i>200</span><span><i class="sw" style="background:#d4a72c"></i>4xx (dropped)</span><span><i class="sw" style="background:#cf222e"></i>other answer or error (re-sent)</span>{{if .Phases}}<span><i class="sw" style="background:#1d232a"></i>target rate (first sends)</span>{{end}}</p>
{{.AttemptsChart}}
<div class="grid"><div><h2>Events by outcome</h2>{{.OutcomeChart}}</div><div><h2>Attempts by answer</h2>{{.AnswerChart}}</div></div>
{{if .Reasons}}<h2>Why attempts were not answered 200</h2>
<table><tr><th>answer</th><th class="num">attempts</th><th>reason</th></tr>
{{range .Reasons}}<tr><td><span class="sw {{.Class}}"></span>{{.Answer}}</td><td class="num">{{.Count}}</td><td>{{.Text}}{{if .Hint}}<br><span class="hint">fix: {{.Hint}}</span>{{end}}</td></tr>
{{end}}</table>{{end}}
{{if .Phases}}<h2>Phases</h2>
<table><tr><th>phase</th><th class="num">events</th><th class="num">target rate</th><th class="num">achieved rate</th><th class="num">delivered</th><th class="num">dropped</th><th class="num">gave up</th><th class="num">pending</th><th class="num">to delivery p50</th><th class="num">p99</th><th class="num">latency p99</th></tr>
{{range .Phases}}<tr><td>{{phaseName .}}</td><td class="num">{{.Events}}</td><td class="num">{{printf "%.2f/s" .TargetRate}}</td><td class="num">{{printf "%.2f/s" .AchievedRate}}</td><td class="num">{{delivered .Outcomes}}</td><td class="num">{{.Outcomes.DroppedBy4xx}}</td><td class="num">{{.Outcomes.GaveUp}}</td><td class="num">{{.Outcomes.StillPending}}</td><td class="num">{{dur .TimeToDelivery.P50MS}}</td><td class="num">{{dur .TimeToDelivery.P99MS}}</td><td class="num">{{dur .Latency.P99MS}}</td></tr>
{{end}}</table>{{end}}
{{with .Reordered}}<h2>Order (entity lifecycles)</h2>
<p class="sub">events delivered after a later-emitted event of the same entity had been delivered</p>
<table><tr><th>reordered entities</th><td class="num">{{.Entities}}</td></tr>
<tr><th>reordered events</th><td class="num">{{.Events}}</td></tr>
{{range reorderedKinds .}}<tr><th class="part">{{.Words}}</th><td class="num">{{.Events}}</td></tr>
{{end}}</table>{{end}}
{{with .FinalState}}<h2>Final state (--state-url)</h2>
<p class="sub">every entity read back from the Application after the drain, compared with its delivered events applied in i_event order</p>
<table><tr><th>checked</th><td class="num">{{.Checked}}</td><td></td></tr>
<tr><th>match</th><td class="num">{{.Match}}</td><td></td></tr>
<tr><th>mismatch</th><td class="num{{if .Mismatch}} badnum{{end}}">{{.Mismatch}}</td><td></td></tr>
{{if .Errors}}<tr><th>unreadable</th><td class="num badnum">{{.Errors}}</td><td class="hint">the state URL answered neither 200 {"exists": …} nor 404</td></tr>
{{end}}<tr><th>unknown</th><td class="num">{{.Unknown}}</td><td class="hint">an event pending, given up or dropped: not compared</td></tr></table>
{{if .Mismatches}}<table><tr><th>entity</th><th>what happened</th></tr>
{{range .Mismatches}}<tr><td><span class="sw bad"></span>{{.Entity}}</td><td>{{.Words}}</td></tr>
{{end}}{{if .Truncated}}<tr><td class="hint" colspan="2">… and {{.Truncated}} more</td></tr>
{{end}}</table>{{end}}{{end}}
{{with .Durability}}<h2>Durability (--restart-cmd)</h2>
<p class="sub">the Application restarted while requests were in flight: every event answered 200 must be applied, none applied twice</p>
<table><tr><th>restart</th><th class="num">at</th><th class="num">exit</th><th class="num">took</th><th class="num">in flight</th><th class="num">answered again after</th></tr>
{{range .Restarts}}<tr><td>{{.N}}</td><td class="num">+{{dur .AtMS}}</td><td class="num{{if .ExitCode}} badnum{{end}}">{{.ExitCode}}</td><td class="num">{{dur .TookMS}}</td><td class="num">{{.InFlight}}</td><td class="num">{{with .AnsweredAgainMS}}{{dur .}}{{else}}not answered again{{end}}</td></tr>
{{end}}</table>
<table><tr><th>acknowledged</th><td class="num">{{.Acknowledged}}</td><td class="hint">lifecycle events answered 200, of the entities read back</td></tr>
<tr><th>lost after 200</th><td class="num{{if .LostAfter200}} badnum{{end}}">{{.LostAfter200}}</td><td></td></tr>
<tr><th>applied twice</th><td class="num{{if .AppliedTwice}} badnum{{end}}">{{.AppliedTwice}}</td><td></td></tr>
{{if .NoApplied}}<tr><th>no applied</th><td class="num">{{.NoApplied}}</td><td class="hint">entities whose state answer has no "applied": a double application cannot be seen</td></tr>
{{end}}</table>
{{if .Entities}}<table><tr><th>entity</th><th>kind</th><th>what happened</th></tr>
{{range .Entities}}<tr><td><span class="sw bad"></span>{{.Entity}}</td><td>{{.Kind}}</td><td>{{.Words}}</td></tr>
{{end}}{{if .Truncated}}<tr><td class="hint" colspan="3">… and {{.Truncated}} more</td></tr>
{{end}}</table>{{end}}{{end}}
{{if or .Accounts .APICallsFailed}}<h2>Provisioning status (ESPF API)</h2>
<p class="sub">each account's latest status as the Application reported it to the ESPF API mock, and how long after its event's delivery the final one (OK or FAILED) came</p>
{{if .Accounts}}<table><tr><th>account</th><th>status</th><th>group</th><th class="num">calls</th><th class="num">after delivery</th></tr>
{{range accountRows .Accounts}}<tr><td>{{.Account}}</td><td{{if eq .Status "FAILED"}} class="badnum"{{end}}>{{.Status}}</td><td>{{.Group}}</td><td class="num">{{.Calls}}</td><td class="num">{{.Since}}</td></tr>
{{end}}</table>{{end}}{{if .APICallsFailed}}
<table><tr><th>api calls rejected</th><td class="num badnum">{{.APICallsFailed}}</td><td class="hint">status calls the mock refused: wrong credentials or bad parameters</td></tr></table>{{end}}{{end}}
{{if .APICalls}}<h2>PortaBilling API mock (calls)</h2>
<p class="sub">the calls the Application made to the API mock, by method; faults are the calls it refused (a fault, or 400/401 on the status routes)</p>
<table><tr><th>method</th><th class="num">calls</th><th class="num">faults</th></tr>
{{range .APICalls}}<tr><td>{{.Method}}</td><td class="num">{{.Calls}}</td><td class="num{{if .Faults}} badnum{{end}}">{{.Faults}}</td></tr>
{{end}}</table>{{if .APIEntities}}
<table><tr><th>entities held</th><td class="num">{{.APIEntities}}</td></tr></table>{{end}}{{end}}
<h2>Summary</h2>
<table>{{range .Stats}}<tr><th>{{index . 0}}</th><td class="num">{{index . 1}}</td></tr>{{end}}</table>
<p class="sub">espfctl · latency is measured from the intended send time, so a stalled Application's queueing delay counts.</p>
</body></html>
`)))

var tmplFuncs = template.FuncMap{
	"phaseName":      func(p PhaseSummary) string { return phaseLabel(p) },
	"delivered":      func(o Outcomes) int64 { return o.DeliveredFirstTry + o.DeliveredAfterRetry },
	"dur":            dur,
	"reorderedKinds": reorderedKinds,
	"accountRows":    accountRows,
	"outside":        outside,
}

// outside is what the page prints of one value: text from outside (an
// event type, an entity id, a mismatch's words, an API method, a reason, a
// URL) may carry control characters, line separators and bidirectional
// overrides (U+202E) that would reorder or hide what the page shows; they
// become the visible escapes of term.Escape, as in the text report
// (\u202e, \n, \x1b). html/template then escapes the markup, once: the
// escapes are plain ASCII. Markup the report drew itself (the charts) is
// kept; its text went through markupText.
func outside(v any) any {
	if h, ok := v.(template.HTML); ok {
		return h
	}
	// as html/template prints a value: through pointers, down to one that
	// says itself (a Stringer, an error)
	rv := reflect.ValueOf(v)
	for rv.IsValid() && rv.Kind() == reflect.Pointer && !rv.IsNil() && !rv.Type().Implements(stringerType) && !rv.Type().Implements(errorType) {
		rv = rv.Elem()
	}
	if rv.IsValid() {
		v = rv.Interface()
	}
	return term.Escape(fmt.Sprint(v)) // a number prints as it would have
}

var (
	stringerType = reflect.TypeFor[fmt.Stringer]()
	errorType    = reflect.TypeFor[error]()
)

// printOutside ends the pipeline of every action of t that prints (every
// {{…}} but the declarations) with outside, before html/template adds its
// escapers at the first Execute. It is the one place the page neutralises
// text: no field is escaped by hand, and a field added to the template
// later is covered without a word.
func printOutside(t *template.Template) *template.Template {
	var walk func(tree *parse.Tree, n parse.Node)
	walk = func(tree *parse.Tree, n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(tree, c)
			}
		case *parse.ActionNode:
			if len(n.Pipe.Decl) == 0 {
				id := parse.NewIdentifier("outside").SetTree(tree).SetPos(n.Pos)
				n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{id}})
			}
		case *parse.IfNode:
			walk(tree, n.List)
			walk(tree, n.ElseList)
		case *parse.RangeNode:
			walk(tree, n.List)
			walk(tree, n.ElseList)
		case *parse.WithNode:
			walk(tree, n.List)
			walk(tree, n.ElseList)
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			walk(tt.Tree, tt.Tree.Root)
		}
	}
	return t
}

// markupText is text from outside as markup the report writes by hand
// (the charts' labels): neutralised as outside does, then HTML-escaped.
func markupText(s string) string { return html.EscapeString(term.Escape(s)) }

func phaseLabel(p PhaseSummary) string {
	if p.Name != "" {
		return p.Name
	}
	return fmt.Sprintf("phase %d", p.Index+1)
}

// HTML writes the report page.
func HTML(w io.Writer, p Page) error {
	c := chart{s: p.Series, phases: p.Phases}
	data := struct {
		Page
		TTDChart, LatencyChart, AttemptsChart, OutcomeChart, AnswerChart template.HTML
	}{Page: p,
		TTDChart:      c.ttd(),
		LatencyChart:  c.latency(),
		AttemptsChart: c.attempts(),
		OutcomeChart:  barChart(p.Outcomes),
		AnswerChart:   barChart(p.Answers)}
	return pageTmpl.Execute(w, data)
}

const (
	chartW, chartH             = 1000, 260
	padL, padR, padT, padB     = 64, 36, 22, 30
	plotX0, plotX1             = padL, chartW - padR
	plotY0, plotY1             = chartH - padB, padT // bottom, top
	plotWidth, plotHeight      = plotX1 - plotX0, plotY0 - plotY1
	minTicks, maxTicks         = 4, 6
	phaseLabelGap, labelMargin = 4, 40
)

// chart draws the time charts of one series, with the phase markers.
type chart struct {
	s      *Series
	phases []PhaseSummary
}

func (c chart) empty() bool { return c.s == nil || len(c.s.Buckets) == 0 }

func (c chart) total() time.Duration { return time.Duration(len(c.s.Buckets)) * c.s.Width }

// x maps a time offset from the series start onto the plot.
func (c chart) x(off time.Duration) float64 {
	return float64(plotX0) + float64(plotWidth)*float64(off)/float64(c.total())
}

// xAt is the middle of bucket i.
func (c chart) xAt(i int) float64 {
	return c.x(time.Duration(float64(c.s.Width) * (float64(i) + 0.5)))
}

func emptyChart(msg string) template.HTML {
	return template.HTML(fmt.Sprintf(`<svg viewBox="0 0 %d 60" role="img"><text x="10" y="35">%s</text></svg>`, chartW, markupText(msg)))
}

// niceStep is the step of about n ticks from 0 to top: 1, 2 or 5 times a
// power of ten, so that every label is a round number.
func niceStep(top float64, n int) float64 {
	if top <= 0 {
		return 1
	}
	raw := top / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if raw <= m*p*1.0000001 {
			return m * p
		}
	}
	return 10 * p
}

// yScale is a value axis from 0 to top in whole steps.
type yScale struct{ step, top float64 }

func newYScale(maxV float64, integral bool) yScale {
	if maxV <= 0 {
		maxV = 1
	}
	step := niceStep(maxV, minTicks)
	if integral {
		step = max(step, 1)
	}
	return yScale{step: step, top: math.Ceil(maxV/step-1e-9) * step}
}

func (y yScale) at(v float64) float64 { return float64(plotY0) - float64(plotHeight)*v/y.top }

// axes draws the frame, the value grid with its labels and the time ticks.
func (c chart) axes(b *strings.Builder, y yScale, label func(float64) string) {
	for v := 0.0; v <= y.top*(1+1e-9); v += y.step {
		yy := y.at(v)
		fmt.Fprintf(b, `<line class="gridline" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`,
			plotX0, yy, plotX1, yy, plotX0-5, yy+4, markupText(label(v)))
	}
	fmt.Fprintf(b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/><line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`,
		plotX0, plotY0, plotX1, plotY0, plotX0, plotY0, plotX0, plotY1)
	total := c.total()
	step := timeStep(total)
	for t := time.Duration(0); t <= total; t += step {
		x := c.x(t)
		anchor := "middle"
		if x > float64(chartW-labelMargin) {
			anchor = "end"
		}
		fmt.Fprintf(b, `<line class="axis" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/><text x="%.1f" y="%d" text-anchor="%s">%s</text>`,
			x, plotY0, x, plotY0+4, x, chartH-10, anchor, durLabel(t))
	}
	c.phaseMarkers(b)
}

// timeStep is a round step giving at most maxTicks+1 ticks over total.
func timeStep(total time.Duration) time.Duration {
	steps := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	for _, s := range steps {
		if total/s <= maxTicks {
			return s
		}
	}
	return steps[len(steps)-1] * time.Duration(total/(steps[len(steps)-1]*maxTicks)+1)
}

func durLabel(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}

// phaseMarkers draws a labelled line where each phase after the first
// starts (and the first, when the run did not start with it).
func (c chart) phaseMarkers(b *strings.Builder) {
	if len(c.phases) < 2 {
		return
	}
	for _, p := range c.phases {
		if p.Start.IsZero() {
			continue
		}
		off := p.Start.Sub(c.s.Start)
		if off < 0 || off > c.total() {
			continue
		}
		x := c.x(off)
		fmt.Fprintf(b, `<line class="phase" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, x, plotY1-6, x, plotY0)
		anchor, tx := "start", x+phaseLabelGap
		if x > float64(chartW-4*labelMargin) {
			anchor, tx = "end", x-phaseLabelGap
		}
		fmt.Fprintf(b, `<text class="phase" x="%.1f" y="%d" text-anchor="%s">%s</text>`, tx, plotY1-8, anchor, markupText(phaseLabel(p)))
	}
}

// msLabel formats a value axis in milliseconds, or seconds past 2s.
func msLabel(y yScale) func(float64) string {
	if y.top >= 2000 {
		return func(v float64) string { return strconv.FormatFloat(v/1000, 'f', decimals(y.step/1000), 64) + " s" }
	}
	return func(v float64) string { return strconv.FormatFloat(v, 'f', decimals(y.step), 64) + " ms" }
}

// decimals is how many decimals a step needs to be printed exactly.
func decimals(step float64) int {
	for d := 0; d < 6; d++ {
		if math.Abs(step*math.Pow(10, float64(d))-math.Round(step*math.Pow(10, float64(d)))) < 1e-6 {
			return d
		}
	}
	return 6
}

// lines draws mean, p99 and max lines (values in seconds) over the
// buckets that have a value.
func (c chart) lines(name string, values func(Bucket) (n int64, mean, p99, mx float64)) template.HTML {
	if c.empty() {
		return emptyChart("no attempts")
	}
	top := 0.0
	for _, bk := range c.s.Buckets {
		if n, _, p99, mx := values(bk); n > 0 {
			top = max(top, mx*1000, p99*1000)
		}
	}
	if top == 0 {
		return emptyChart("no event delivered")
	}
	y := newYScale(top, false)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH, markupText(name))
	c.axes(&b, y, msLabel(y))
	var mean, p99, mx strings.Builder
	for i, bk := range c.s.Buckets {
		n, m, q, x := values(bk)
		if n == 0 {
			continue
		}
		xx := c.xAt(i)
		fmt.Fprintf(&mean, "%.1f,%.1f ", xx, y.at(m*1000))
		fmt.Fprintf(&p99, "%.1f,%.1f ", xx, y.at(min(q, x)*1000))
		fmt.Fprintf(&mx, "%.1f,%.1f ", xx, y.at(x*1000))
	}
	fmt.Fprintf(&b, `<polyline class="lmax" points="%s"/><polyline class="lp99" points="%s"/><polyline class="lmean" points="%s"/></svg>`,
		mx.String(), p99.String(), mean.String())
	return template.HTML(b.String())
}

func (c chart) latency() template.HTML {
	return c.lines("latency over time", func(b Bucket) (int64, float64, float64, float64) {
		if b.Attempts == 0 {
			return 0, 0, 0, 0
		}
		return b.Attempts, b.SumLatS / float64(b.Attempts), b.Lat.quantile(0.99), b.MaxLatS
	})
}

func (c chart) ttd() template.HTML {
	return c.lines("time to delivery over time", func(b Bucket) (int64, float64, float64, float64) {
		if b.TTDCount == 0 {
			return 0, 0, 0, 0
		}
		return b.TTDCount, b.SumTTDS / float64(b.TTDCount), b.TTD.quantile(0.99), b.MaxTTDS
	})
}

func (c chart) attempts() template.HTML {
	if c.empty() {
		return emptyChart("no attempts")
	}
	s := c.s
	perBucket := s.Width.Seconds()
	top := 0.0
	for _, b := range s.Buckets {
		top = max(top, float64(b.Attempts))
	}
	for _, p := range c.phases {
		top = max(top, p.TargetRate*perBucket)
	}
	y := newYScale(top, true)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="attempts over time">`, chartW, chartH)
	per := strings.TrimPrefix(s.Width.String(), "1")
	if s.Width != time.Second && s.Width != time.Minute {
		per = s.Width.String()
	}
	c.axes(&b, y, func(v float64) string { return strconv.FormatFloat(v, 'f', decimals(y.step), 64) + "/" + per })
	w := float64(plotWidth) / float64(len(s.Buckets))
	for i, bk := range s.Buckets {
		x := float64(plotX0) + w*float64(i)
		base := float64(plotY0)
		for _, part := range []struct {
			v     int64
			class string
		}{{bk.OK, "ok"}, {bk.Rejected, "warn"}, {bk.Failed, "bad"}} {
			if part.v == 0 {
				continue
			}
			hh := float64(plotHeight) * float64(part.v) / y.top
			base -= hh
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, part.class, x, base, max(w-0.5, 0.5), hh)
		}
	}
	c.targetLine(&b, y, perBucket)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// targetLine draws each phase's target rate as first sends per bucket,
// from the phase's start to the next one's.
func (c chart) targetLine(b *strings.Builder, y yScale, perBucket float64) {
	if len(c.phases) == 0 {
		return
	}
	var pts strings.Builder
	for i, p := range c.phases {
		if p.Start.IsZero() || p.TargetRate <= 0 {
			continue
		}
		from := max(p.Start.Sub(c.s.Start), 0)
		to := c.total()
		if i+1 < len(c.phases) && !c.phases[i+1].Start.IsZero() {
			to = min(c.phases[i+1].Start.Sub(c.s.Start), to)
		}
		yy := y.at(p.TargetRate * perBucket)
		fmt.Fprintf(&pts, "%.1f,%.1f %.1f,%.1f ", c.x(from), yy, c.x(to), yy)
	}
	if pts.Len() > 0 {
		fmt.Fprintf(b, `<polyline class="target" points="%s"/>`, pts.String())
	}
}

func barChart(bars []Bar) template.HTML {
	if len(bars) == 0 {
		return emptyChart("nothing to show")
	}
	var top int64
	for _, b := range bars {
		top = max(top, b.Value)
	}
	const rowH, labelW, w, valueW = 26, 190, 480, 60
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img">`, w, rowH*len(bars)+10)
	for i, bar := range bars {
		y := 5 + rowH*i
		bw := 0.0
		if top > 0 {
			bw = float64(w-labelW-valueW) * float64(bar.Value) / float64(top)
		}
		class := bar.Class
		if class == "" {
			class = "ok"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text><rect class="%s" x="%d" y="%d" width="%.1f" height="%d"/><text x="%.1f" y="%d">%d</text>`,
			labelW-6, y+16, markupText(bar.Label), markupText(class), labelW, y+3, bw, rowH-8, float64(labelW)+bw+5, y+16, bar.Value)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
