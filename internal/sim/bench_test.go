package sim_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/sim"
)

func BenchmarkConstantPace(b *testing.B) {
	p := sim.NewPacer(sim.Phase{Rate: sim.Rate{Freq: 1000, Per: time.Second}}, 0)
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		p.Pace(time.Duration(n)*time.Millisecond, n)
		n++
	}
}

func BenchmarkPoissonPace(b *testing.B) {
	p := sim.NewPacer(sim.Phase{Rate: sim.Rate{Freq: 1000, Per: time.Second}, Arrival: sim.Poisson}, 1)
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		p.Pace(time.Duration(n)*time.Millisecond, n)
		n++
	}
}

// BenchmarkRunLoopback measures the sender's cost per event (sign, send,
// classify, aggregate) against a loopback receiver, with no pacing limit
// worth speaking of: b.N events at 1,000,000/s, in flight at most 64.
func BenchmarkRunLoopback(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer srv.Close()
	au := signatureAuthB(b)
	b.ReportAllocs()
	n := int64(b.N)
	b.ResetTimer()
	// the summary's aggregator is the one sink, as in send; keeping every
	// record (collectRun) would measure the test's slice instead
	m := report.NewMetrics()
	st, err := sim.Run(b.Context(), sim.Config{URL: srv.URL, Auth: au, Events: genB(b, n), MaxInFlight: 64, Sink: m,
		Phases: []sim.Phase{{Rate: sim.Rate{Freq: 1000000, Per: time.Second}, Count: n}}})
	if s := report.NewSummary(m, report.Inputs{Run: st}); err != nil || s.Events != n {
		b.Fatalf("Run: %v, %d events", err, s.Events)
	}
}
