package report_test

import (
	"errors"
	"strings"
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
	if !near(s.SenderLag.MaxMS, 50) || !near(s.Latency.MaxMS, 100) {
		t.Errorf("sender lag max %v latency max %v, want 50 and 100 (±0.1%%, HDR precision)", s.SenderLag.MaxMS, s.Latency.MaxMS)
	}
	if s.TargetRate != 10 { // 5 first attempts intended over 400ms
		t.Errorf("target rate %v, want 10", s.TargetRate)
	}
	if s.AllDelivered() {
		t.Error("AllDelivered with one dropped")
	}
	// time to delivery: event 1 10ms, event 2 from its first intended time
	// (100ms) to the 200 of its re-send (1110ms), event 5 still pending at
	// the end (2001ms) with its age; dropped and given-up events have none.
	ttd := s.TimeToDelivery
	if ttd.Count != 3 || s.PendingInTTD != 1 || !near(ttd.MaxMS, 1601) || !near(ttd.P50MS, 1010) {
		t.Errorf("time to delivery %+v pending %d, want 3 events, p50 1010ms, max 1601ms, 1 pending", ttd, s.PendingInTTD)
	}
	if len(s.Errors) != 2 || s.Errors[0].Class != "reset" && s.Errors[0].Class != "timeout" {
		t.Errorf("errors %+v, want reset and timeout", s.Errors)
	}
}

// TestTimeToDeliveryAcrossResends: an event answered 503 twice with a
// 250ms re-send interval is delivered 500ms after it was due, though each
// attempt took 2ms.
func TestTimeToDeliveryAcrossResends(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := report.NewMetrics()
	for ev := range int64(50) {
		base := t0.Add(time.Duration(ev) * 100 * time.Millisecond)
		for a := range 3 {
			at := base.Add(time.Duration(a) * 250 * time.Millisecond)
			r := sim.Record{IEvent: ev + 1, EventType: "A/B", Attempt: a + 1, Intended: at, Sent: at, Answered: at.Add(2 * time.Millisecond),
				Status: 503, Outcome: espf.Resent}
			if a == 2 {
				r.Status, r.Outcome = 200, espf.Delivered
			}
			m.Add(&r)
		}
	}
	s := report.NewSummary(m, report.Inputs{})
	if !near(s.TimeToDelivery.P50MS, 502) || !near(s.Latency.P50MS, 2) || s.TimeToDelivery.Count != 50 {
		t.Errorf("time to delivery p50 %vms (n=%d), latency p50 %vms; want 502 and 2", s.TimeToDelivery.P50MS, s.TimeToDelivery.Count, s.Latency.P50MS)
	}
	if s.PendingInTTD != 0 {
		t.Errorf("%d pending, want 0", s.PendingInTTD)
	}
}

// TestPhases: every event counts in the phase it was first sent in, with
// that phase's rates.
func TestPhases(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := report.NewMetrics()
	add := func(ev int64, phase, atMS, attempt, status int, out espf.Outcome) {
		at := t0.Add(time.Duration(atMS) * time.Millisecond)
		m.Add(&sim.Record{IEvent: ev, EventType: "A/B", Attempt: attempt, Phase: phase, Intended: at, Sent: at, Answered: at.Add(time.Millisecond), Status: status, Outcome: out})
	}
	for i := range 10 { // phase 0: 10/s
		add(int64(i+1), 0, i*100, 1, 200, espf.Delivered)
	}
	for i := range 20 { // phase 1: 100/s, one event re-sent once
		add(int64(i+11), 1, 1000+i*10, 1, 200, espf.Delivered)
	}
	add(31, 1, 1200, 1, 503, espf.Resent)
	add(31, 1, 1700, 2, 200, espf.Delivered)
	s := report.NewSummary(m, report.Inputs{PhaseNames: []string{"steady", "flush"}})
	if len(s.Phases) != 2 {
		t.Fatalf("%d phases, want 2", len(s.Phases))
	}
	p0, p1 := s.Phases[0], s.Phases[1]
	if p0.Name != "steady" || p0.Events != 10 || !near(p0.TargetRate, 10) || p0.Outcomes.DeliveredFirstTry != 10 {
		t.Errorf("phase 0 %+v", p0)
	}
	if p1.Name != "flush" || p1.Events != 21 || p1.Outcomes.DeliveredAfterRetry != 1 || p1.Attempts != 22 || !near(p1.TimeToDelivery.MaxMS, 501) {
		t.Errorf("phase 1 %+v", p1)
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

// TestNotDeliveredText: the line that ends a run with events not delivered
// names the most frequent answer other than 200: a transport error in its
// innermost words with its fix in short, or a status.
func TestNotDeliveredText(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	many := "tls: failed to verify certificate: x509: certificate is valid for " + strings.Repeat("a.example, ", 20) + "not localhost"
	for _, tt := range []struct {
		name    string
		answers []sim.Record // one attempt each; the last of an event gives up
		want    string
	}{
		{"503 dominates a reset", []sim.Record{{Status: 503}, {Status: 503}, {Error: "reset", Detail: "read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer"}},
			"3 of 3 events not delivered: answered 503"},
		{"refused", []sim.Record{{Error: "refused", Detail: "dial tcp 127.0.0.1:1: connect: connection refused"}},
			"1 of 1 events not delivered: refused: connection refused"},
		{"timeout", []sim.Record{{Error: "timeout"}, {Status: 200}},
			"1 of 2 events not delivered: timeout: no answer within the timeout (a slow or hung Application; --timeout sets the wait)"},
		{"plain http", []sim.Record{{Error: "tls", Detail: "tls: first record does not look like a TLS handshake"}},
			"1 of 1 events not delivered: tls: first record does not look like a TLS handshake (https to a plain-http listener: use an http:// --url)"},
		{"many names cut", []sim.Record{{Error: "tls", Detail: many}},
			"1 of 1 events not delivered: tls: " + string([]rune(many[len("tls: failed to verify certificate: x509: "):])[:99]) + "… (use the host name it was issued for in --url, or --insecure-skip-verify to test)"},
	} {
		m := report.NewMetrics()
		for i, r := range tt.answers {
			r.IEvent, r.EventType, r.Attempt = int64(i+1), "A/B", 1
			r.Intended, r.Sent, r.Answered = t0, t0, t0.Add(time.Millisecond)
			var failed error
			if r.Error != "" {
				failed = errFailed
			}
			r.Outcome = espf.Classify(r.Status, failed, true)
			m.Add(&r)
		}
		if got := report.NewSummary(m, report.Inputs{}).NotDeliveredText(); got != tt.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tt.name, got, tt.want)
		}
	}
}

var errFailed = errors.New("failed")
