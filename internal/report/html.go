package report

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// Page is what the HTML report shows. It is rendered as one self-contained
// file: inline CSS and SVG, no script, no external URL, so it opens offline.
type Page struct {
	Title     string
	Subtitle  string
	Generated time.Time
	Pass      bool
	Checks    []Check
	Stats     [][2]string // label, value
	Outcomes  []Bar       // events by how they ended
	Answers   []Bar       // attempts by answer
	Series    *Series
}

// Bar is one labelled value of a bar chart. Class colors it: ok, warn, bad.
type Bar struct {
	Label string
	Value int64
	Class string
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — espfctl report</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;color:#1d232a;padding:0 1em}
h1{margin-bottom:0}.sub{color:#5b6570;margin-top:.2em}
.verdict{display:inline-block;padding:.2em .8em;border-radius:4px;color:#fff;font-weight:600}
.pass{background:#1a7f37}.fail{background:#cf222e}
table{border-collapse:collapse;margin:1em 0}td,th{padding:.3em .8em;border-bottom:1px solid #d8dee4;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}@media(max-width:800px){.grid{grid-template-columns:1fr}}
svg{width:100%;height:auto;background:#fafbfc;border:1px solid #d8dee4;border-radius:4px}
svg text{font-size:11px;fill:#5b6570}.ok{fill:#2da44e}.warn{fill:#d4a72c}.bad{fill:#cf222e}
.lmean{stroke:#0969da;fill:none;stroke-width:1.5}.lmax{stroke:#cf222e;fill:none;stroke-width:1;stroke-dasharray:3 2}
.axis{stroke:#8c959f;stroke-width:1}.gridline{stroke:#eaeef2}
.legend span{display:inline-block;margin-right:1em}.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
</style></head><body>
<h1>{{.Title}}</h1>
<p class="sub">{{.Subtitle}} · generated {{.Generated.UTC.Format "2006-01-02 15:04:05 MST"}}</p>
<p>{{if .Pass}}<span class="verdict pass">PASS</span>{{else}}<span class="verdict fail">FAIL</span>{{end}}</p>
{{if .Checks}}<h2>Expectations</h2>
<table><tr><th></th><th>expectation</th><th>measured</th><th>where</th></tr>
{{range .Checks}}<tr><td>{{if .Pass}}<span class="verdict pass">ok</span>{{else}}<span class="verdict fail">FAIL</span>{{end}}</td><td>{{.Name}}</td><td class="num">{{.Actual}}</td><td>{{.Position}}</td></tr>
{{end}}</table>{{end}}
<h2>Latency over time</h2>
<p class="legend"><span><i class="sw" style="background:#0969da"></i>mean latency from intended send time</span><span><i class="sw" style="background:#cf222e"></i>max</span></p>
{{.LatencyChart}}
<h2>Attempts over time</h2>
<p class="legend"><span><i class="sw ok" style="background:#2da44e"></i>200</span><span><i class="sw" style="background:#d4a72c"></i>4xx (dropped)</span><span><i class="sw" style="background:#cf222e"></i>other answer or error (re-sent)</span></p>
{{.AttemptsChart}}
<div class="grid"><div><h2>Events by outcome</h2>{{.OutcomeChart}}</div><div><h2>Attempts by answer</h2>{{.AnswerChart}}</div></div>
<h2>Summary</h2>
<table>{{range .Stats}}<tr><th>{{index . 0}}</th><td class="num">{{index . 1}}</td></tr>{{end}}</table>
<p class="sub">espfctl · latency is measured from the intended send time, so a stalled Application's queueing delay counts.</p>
</body></html>
`))

// HTML writes the report page.
func HTML(w io.Writer, p Page) error {
	data := struct {
		Page
		LatencyChart, AttemptsChart, OutcomeChart, AnswerChart template.HTML
	}{Page: p,
		LatencyChart:  latencyChart(p.Series),
		AttemptsChart: attemptsChart(p.Series),
		OutcomeChart:  barChart(p.Outcomes),
		AnswerChart:   barChart(p.Answers)}
	return pageTmpl.Execute(w, data)
}

const (
	chartW, chartH       = 1000, 260
	padL, padR, padT, pB = 60, 10, 10, 30
)

func emptyChart(msg string) template.HTML {
	return template.HTML(fmt.Sprintf(`<svg viewBox="0 0 %d 60" role="img"><text x="10" y="35">%s</text></svg>`, chartW, html.EscapeString(msg)))
}

// axes draws the frame, horizontal grid lines with labels, and time ticks.
func axes(b *strings.Builder, yMax float64, yFmt func(float64) string, s *Series) {
	x0, y0, x1, y1 := padL, chartH-pB, chartW-padR, padT
	for i := 0; i <= 4; i++ {
		v := yMax * float64(i) / 4
		y := float64(y0) - float64(y0-y1)*float64(i)/4
		fmt.Fprintf(b, `<line class="gridline" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`,
			x0, y, x1, y, x0-5, y+4, html.EscapeString(yFmt(v)))
	}
	fmt.Fprintf(b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/><line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, x0, y0, x1, y0, x0, y0, x0, y1)
	total := time.Duration(len(s.Buckets)) * s.Width
	for i := 0; i <= 5; i++ {
		x := float64(x0) + float64(x1-x0)*float64(i)/5
		t := time.Duration(float64(total) * float64(i) / 5)
		if total >= time.Minute {
			t = t.Round(time.Second)
		} else {
			t = t.Round(100 * time.Millisecond)
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, chartH-8, t)
	}
}

func xAt(i, n int) float64 {
	return float64(padL) + float64(chartW-padL-padR)*(float64(i)+0.5)/float64(n)
}

func latencyChart(s *Series) template.HTML {
	if s == nil || len(s.Buckets) == 0 {
		return emptyChart("no attempts")
	}
	yMax := 0.0
	for _, b := range s.Buckets {
		yMax = max(yMax, b.MaxLatS)
	}
	yMax = niceCeil(yMax * 1000) // ms
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="latency over time">`, chartW, chartH)
	axes(&b, yMax, func(v float64) string { return fmt.Sprintf("%gms", math.Round(v*10)/10) }, s)
	y := func(ms float64) float64 { return float64(chartH-pB) - float64(chartH-pB-padT)*ms/yMax }
	var mean, mx strings.Builder
	for i, bk := range s.Buckets {
		if bk.Attempts == 0 {
			continue
		}
		fmt.Fprintf(&mean, "%.1f,%.1f ", xAt(i, len(s.Buckets)), y(bk.SumLatS/float64(bk.Attempts)*1000))
		fmt.Fprintf(&mx, "%.1f,%.1f ", xAt(i, len(s.Buckets)), y(bk.MaxLatS*1000))
	}
	fmt.Fprintf(&b, `<polyline class="lmax" points="%s"/><polyline class="lmean" points="%s"/></svg>`, mx.String(), mean.String())
	return template.HTML(b.String())
}

func attemptsChart(s *Series) template.HTML {
	if s == nil || len(s.Buckets) == 0 {
		return emptyChart("no attempts")
	}
	var yMax int64
	for _, b := range s.Buckets {
		yMax = max(yMax, b.Attempts)
	}
	top := niceCeil(float64(yMax))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="attempts over time">`, chartW, chartH)
	per := s.Width.String()
	axes(&b, top, func(v float64) string { return fmt.Sprintf("%g/%s", math.Round(v), per) }, s)
	n := len(s.Buckets)
	w := float64(chartW-padL-padR) / float64(n)
	h := func(v int64) float64 { return float64(chartH-pB-padT) * float64(v) / top }
	for i, bk := range s.Buckets {
		x := float64(padL) + w*float64(i)
		base := float64(chartH - pB)
		for _, part := range []struct {
			v     int64
			class string
		}{{bk.OK, "ok"}, {bk.Rejected, "warn"}, {bk.Failed, "bad"}} {
			if part.v == 0 {
				continue
			}
			hh := h(part.v)
			base -= hh
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, part.class, x, base, max(w-0.5, 0.5), hh)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func barChart(bars []Bar) template.HTML {
	if len(bars) == 0 {
		return emptyChart("nothing to show")
	}
	var top int64
	for _, b := range bars {
		top = max(top, b.Value)
	}
	const rowH, labelW, w = 26, 190, 480
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img">`, w, rowH*len(bars)+10)
	for i, bar := range bars {
		y := 5 + rowH*i
		bw := 0.0
		if top > 0 {
			bw = float64(w-labelW-60) * float64(bar.Value) / float64(top)
		}
		class := bar.Class
		if class == "" {
			class = "ok"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text><rect class="%s" x="%d" y="%d" width="%.1f" height="%d"/><text x="%.1f" y="%d">%d</text>`,
			labelW-6, y+16, html.EscapeString(bar.Label), class, labelW, y+3, bw, rowH-8, float64(labelW)+bw+5, y+16, bar.Value)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}
