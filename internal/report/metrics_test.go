package report_test

import (
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/sim"
)

func TestMetricsOutcomes(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	m := report.NewMetrics()
	for _, r := range []sim.Record{
		{IEvent: 1, EventType: "A/B", Attempt: 1, Intended: at(0), Sent: at(0), Answered: at(10), Status: 200, Outcome: espf.Delivered},
		{IEvent: 2, EventType: "A/B", Attempt: 1, Intended: at(100), Sent: at(100), Answered: at(105), Status: 503, Outcome: espf.Resent},
		{IEvent: 2, EventType: "A/B", Attempt: 2, Intended: at(1105), Sent: at(1105), Answered: at(1110), Status: 200, Outcome: espf.Delivered},
		{IEvent: 3, EventType: "C/D", Attempt: 1, Intended: at(200), Sent: at(250), Answered: at(300), Status: 401, Outcome: espf.Dropped},
		{IEvent: 4, EventType: "C/D", Attempt: 1, Intended: at(300), Sent: at(300), Answered: at(400), Error: "timeout", Outcome: espf.GaveUp},
		{IEvent: 5, EventType: "C/D", Attempt: 1, Intended: at(400), Sent: at(400), Answered: at(401), Error: "reset", Outcome: espf.Resent},
		{IEvent: 1, EventType: "A/B", Attempt: 2, Duplicate: true, Intended: at(2000), Sent: at(2000), Answered: at(2001), Status: 500, Outcome: espf.Resent},
	} {
		m.Add(&r)
	}
	s := report.NewSummary(m, report.Inputs{})
	want := report.Outcomes{DeliveredFirstTry: 1, DeliveredAfterRetry: 1, DroppedBy4xx: 1, GaveUp: 1, StillPending: 1}
	if s.Outcomes != want {
		t.Errorf("outcomes %+v, want %+v", s.Outcomes, want)
	}
	if s.Events != 5 || s.Attempts != 7 || s.ByAnswer["200"] != 2 || s.ByAnswer["timeout"] != 1 {
		t.Errorf("events %d attempts %d answers %v", s.Events, s.Attempts, s.ByAnswer)
	}
	if s.Duplicates.Sent != 1 || s.Duplicates.Findings != 1 || s.Duplicates.ByAnswer["500"] != 1 {
		t.Errorf("duplicates %+v", s.Duplicates)
	}
	if !near(s.SendError.MaxMS, 50) || !near(s.Latency.MaxMS, 100) {
		t.Errorf("send error max %v latency max %v, want 50 and 100 (±0.1%%, HDR precision)", s.SendError.MaxMS, s.Latency.MaxMS)
	}
	if s.TargetRate != 10 { // 5 first attempts intended over 400ms
		t.Errorf("target rate %v, want 10", s.TargetRate)
	}
	if s.AllDelivered() {
		t.Error("AllDelivered with one dropped")
	}
}

func BenchmarkMetricsAdd(b *testing.B) {
	m := report.NewMetrics()
	t0 := time.Now()
	r := sim.Record{IEvent: 1, EventType: "Subscriber/Created", Attempt: 1, Intended: t0, Sent: t0.Add(50 * time.Microsecond),
		Answered: t0.Add(2 * time.Millisecond), Status: 200, Outcome: espf.Delivered}
	b.ReportAllocs()
	for b.Loop() {
		m.Add(&r)
	}
}

func near(got, want float64) bool { return got >= want*0.999 && got <= want*1.001 }
