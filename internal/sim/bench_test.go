package sim_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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
	s, err := sim.Run(b.Context(), sim.Config{URL: srv.URL, Auth: au, Events: genB(b, n), MaxInFlight: 64,
		Phases: []sim.Phase{{Rate: sim.Rate{Freq: 1000000, Per: time.Second}, Count: n}}})
	if err != nil || s.Events != n {
		b.Fatalf("Run: %v, %d events", err, s.Events)
	}
}

// BenchmarkNewRequest measures building one signed ESPF request message
// (headers, Date, Signature), the part send, run and check share.
func BenchmarkNewRequest(b *testing.B) {
	au := signatureAuthB(b)
	body := []byte(`{"event_type":"Subscriber/Created","variables":{"i_account":1000889,"i_event":7615}}`)
	now := time.Now()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := sim.NewRequest(b.Context(), "http://127.0.0.1:8080/espf", body, nil, au, now); err != nil {
			b.Fatal(err)
		}
	}
}
