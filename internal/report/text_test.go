package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/testutil"
)

func sampleSummary() *report.Summary {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	m := report.NewMetrics()
	for _, r := range []sim.Record{
		{IEvent: 1, EventType: "Subscriber/Created", Attempt: 1, Intended: at(0), Sent: at(0), Answered: at(10), Status: 200, Outcome: espf.Delivered},
		{IEvent: 2, EventType: "Subscriber/Created", Attempt: 1, Intended: at(100), Sent: at(101), Answered: at(105), Status: 503, Outcome: espf.Resent},
		{IEvent: 2, EventType: "Subscriber/Created", Attempt: 2, Intended: at(1105), Sent: at(1105), Answered: at(1110), Status: 200, Outcome: espf.Delivered},
		{IEvent: 3, EventType: "Customer/Updated", Attempt: 1, Intended: at(200), Sent: at(200), Answered: at(230), Status: 404, Outcome: espf.Dropped},
		{IEvent: 1, EventType: "Subscriber/Created", Attempt: 2, Duplicate: true, Intended: at(2000), Sent: at(2000), Answered: at(2001), Status: 500, Outcome: espf.Resent},
	} {
		m.Add(&r)
	}
	return report.NewSummary(m, report.Inputs{})
}

func TestSummaryText(t *testing.T) {
	for _, tt := range []struct {
		name  string
		table bool
	}{{"plain", false}, {"table", true}} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := report.SummaryText(&b, sampleSummary(), term.Layout{Aligned: tt.table}); err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, b.Bytes())
		})
	}
}

func TestSummaryJSON(t *testing.T) {
	var b bytes.Buffer
	if err := report.SummaryJSON(&b, sampleSummary()); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, b.Bytes())
}

// TestProgressLineWarnsWhenNoAnswerComes: requests in flight and no answer
// for 10 s: the line says so, with the age of the oldest request.
func TestProgressLineWarnsWhenNoAnswerComes(t *testing.T) {
	t.Parallel()
	p := sim.Snapshot{Elapsed: 42 * time.Second, Sent: 420, InFlight: 100, Delivered: 320, Rate: 10,
		SinceAnswer: 12 * time.Second, OldestInFlight: 11800 * time.Millisecond}
	line := report.ProgressLine(p)
	if !strings.HasSuffix(line, "\twarning: no answer for 12s, oldest request in flight 12s") {
		t.Errorf("line %q: want the no-answer warning with the oldest request's age", line)
	}
	for _, quiet := range []sim.Snapshot{
		{InFlight: 100, SinceAnswer: 9 * time.Second, OldestInFlight: 9 * time.Second}, // not yet 10 s
		{InFlight: 0, SinceAnswer: time.Minute},                                        // nothing waits: re-sends are pending, no request hangs
	} {
		if line := report.ProgressLine(quiet); strings.Contains(line, "warning") {
			t.Errorf("snapshot %+v: line %q warns", quiet, line)
		}
	}
}
