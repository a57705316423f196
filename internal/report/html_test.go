package report

import (
	"bytes"
	"encoding/xml"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/testutil"
)

func samplePage() Page {
	start := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := NewSeries(start)
	for i := range 100 {
		status := 200
		switch {
		case i%10 == 3:
			status = 503
		case i == 50:
			status = 404
		}
		s.Add(start.Add(time.Duration(i)*100*time.Millisecond), time.Duration(10+i%7)*time.Millisecond, status)
	}
	return Page{Title: "quickstart <&>", Subtitle: "scenarios/quickstart.yaml", Generated: start, Pass: false,
		Checks: []Check{{Name: "delivered >= 100%", Actual: "99%", Pass: false, Position: "q.yaml:40:3"},
			{Name: "p99 <= 250ms", Actual: "16ms", Pass: true, Position: "q.yaml:41:3"}},
		Stats:    [][2]string{{"events", "100"}, {"p99", "16ms"}},
		Outcomes: []Bar{{"delivered first try", 89, "ok"}, {"dropped (4xx)", 1, "warn"}},
		Answers:  []Bar{{"200", 89, "ok"}, {"503", 10, "bad"}, {"404", 1, "warn"}},
		Series:   s}
}

func TestHTMLSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := HTML(&buf, samplePage()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, banned := range []string{"http://", "https://", "<script", " src=", " href="} {
		if strings.Contains(out, banned) {
			t.Errorf("HTML report contains %q; it must open offline with no external resource", banned)
		}
	}
	for _, want := range []string{"quickstart &lt;&amp;&gt;", "<polyline class=\"lmean\"", "class=\"warn\"", "FAIL", "delivered &gt;= 100%"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
}

func TestSeriesBounded(t *testing.T) {
	start := time.Unix(0, 0)
	s := NewSeries(start)
	for i := range 7200 { // two hours, one attempt a second
		s.Add(start.Add(time.Duration(i)*time.Second), time.Millisecond, 200)
	}
	if len(s.Buckets) > maxBuckets {
		t.Errorf("%d buckets, want at most %d", len(s.Buckets), maxBuckets)
	}
	var n int64
	for _, b := range s.Buckets {
		n += b.Attempts
	}
	if n != 7200 || s.Width != 16*time.Second {
		t.Errorf("attempts %d width %s, want 7200 and 16s", n, s.Width)
	}
}

func TestJUnit(t *testing.T) {
	p := samplePage()
	var buf bytes.Buffer
	if err := JUnit(&buf, "quickstart", p.Generated, 20*time.Second, p.Checks, "events: 100"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit output is not XML: %v", err)
	}
	if doc.Tests != 2 || doc.Failures != 1 {
		t.Errorf("tests=%d failures=%d, want 2 and 1", doc.Tests, doc.Failures)
	}
	testutil.Golden(t, buf.Bytes())
}

// TestNiceTicks: axis labels are round numbers (1, 2 or 5 times a power
// of ten) and time ticks round durations, whatever the data's maximum.
func TestNiceTicks(t *testing.T) {
	for _, tt := range []struct {
		max       float64
		integral  bool
		step, top float64
	}{{50, true, 20, 60}, {38, true, 10, 40}, {3, true, 1, 3}, {0.7, false, 0.2, 0.8}, {1003, false, 500, 1500}, {3274, false, 1000, 4000}} {
		y := newYScale(tt.max, tt.integral)
		if y.step != tt.step || math.Abs(y.top-tt.top) > 1e-9 {
			t.Errorf("max %v: step %v top %v, want %v and %v", tt.max, y.step, y.top, tt.step, tt.top)
		}
	}
	for _, tt := range []struct{ total, step time.Duration }{{9 * time.Second, 2 * time.Second}, {100 * time.Second, 15 * time.Second}, {2 * time.Hour, 30 * time.Minute}, {800 * time.Millisecond, 200 * time.Millisecond}} {
		if got := timeStep(tt.total); got != tt.step {
			t.Errorf("timeStep(%s) = %s, want %s", tt.total, got, tt.step)
		}
	}
	var buf bytes.Buffer
	if err := HTML(&buf, samplePage()); err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{">0/s<", ">5/s<", ">10/s<", ">20 ms<", ">0<", ">2s<", ">10s<"} {
		if !strings.Contains(buf.String(), label) {
			t.Errorf("the charts lack the tick label %q", label)
		}
	}
}
