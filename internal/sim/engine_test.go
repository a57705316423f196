package sim_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/sim"
)

// hit is one request a test server saw.
type hit struct {
	header http.Header
	body   []byte
	path   string
}

type recorder struct {
	mu   sync.Mutex
	hits []hit
}

func (r *recorder) add(req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hits = append(r.hits, hit{header: req.Header.Clone(), body: b, path: req.URL.Path})
}

func (r *recorder) all() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

func gen(t *testing.T, n int64) event.Source {
	t.Helper()
	g, err := event.NewGenerator(event.GenConfig{Count: n})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func signatureAuth(t *testing.T) sign.Auth {
	t.Helper()
	a, err := sign.New(sign.Config{Scheme: "signature", KeyIDs: []string{"test"}, Keys: []string{"signature_key"}, MaxSkew: sign.DefaultMaxSkew})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// send runs one event through the engine against srv with fast retries.
// The answer timeout and the drain are no bound a busy machine could reach
// (the test's -timeout is): the tests about timeouts set their own.
func send(t *testing.T, url string, mut func(*sim.Config)) (*report.Summary, []sim.Record) {
	t.Helper()
	cfg := sim.Config{URL: url, Auth: signatureAuth(t), Events: gen(t, 1),
		Phases:  []sim.Phase{{Rate: sim.Rate{Freq: 100, Per: time.Second}}},
		Timeout: time.Hour, Retry: sim.Retry{Interval: 5 * time.Millisecond, MaxAttempts: 3}, // no jitter
		Drain: time.Hour}
	if mut != nil {
		mut(&cfg)
	}
	s, recs, err := collectRun(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return s, recs
}

// collectRun runs cfg with a sink that keeps every record and a summary of
// them, as send builds it, besides cfg's own sink.
func collectRun(ctx context.Context, cfg sim.Config) (*report.Summary, []sim.Record, error) {
	var recs []sim.Record
	m := report.NewMetrics()
	sinks := sim.Sinks{m, sim.RecordFunc(func(r *sim.Record) { recs = append(recs, *r) })}
	if cfg.Sink != nil {
		sinks = append(sinks, cfg.Sink)
	}
	cfg.Sink = sinks
	st, err := sim.Run(ctx, cfg)
	if st == nil {
		return nil, recs, err
	}
	return report.NewSummary(m, report.Inputs{Run: st}), recs, err
}

func TestReactionToEachAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		attempts int
		outcome  espf.Outcome // of the last attempt
		answer   string
	}{
		{"200 delivers", 200, 1, espf.Delivered, "200"},
		{"201 is re-sent", 201, 3, espf.GaveUp, "201"},
		{"204 is re-sent", 204, 3, espf.GaveUp, "204"},
		{"301 is re-sent, not followed", 301, 3, espf.GaveUp, "301"},
		{"400 drops", 400, 1, espf.Dropped, "400"},
		{"401 drops", 401, 1, espf.Dropped, "401"},
		{"404 drops", 404, 1, espf.Dropped, "404"},
		{"500 is re-sent", 500, 3, espf.GaveUp, "500"},
		{"503 is re-sent", 503, 3, espf.GaveUp, "503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rec recorder
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec.add(r)
				if r.URL.Path == "/moved" {
					w.WriteHeader(200)
					return
				}
				if tt.status == 301 {
					w.Header().Set("Location", "/moved")
				}
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			s, recs := send(t, srv.URL+"/hook", nil)
			hits := rec.all()
			if len(hits) != tt.attempts || len(recs) != tt.attempts {
				t.Fatalf("server saw %d requests, results hold %d; want %d", len(hits), len(recs), tt.attempts)
			}
			for _, h := range hits {
				if h.path != "/hook" {
					t.Errorf("request to %s: the redirect was followed", h.path)
				}
			}
			last := recs[len(recs)-1]
			if last.Outcome != tt.outcome || last.Answer() != tt.answer {
				t.Errorf("last attempt: outcome %s answer %s, want %s %s", last.Outcome, last.Answer(), tt.outcome, tt.answer)
			}
			if s.Events != 1 || s.ByAnswer[tt.answer] != int64(tt.attempts) {
				t.Errorf("summary events %d by_answer %v", s.Events, s.ByAnswer)
			}
			switch tt.outcome {
			case espf.Delivered:
				if s.Outcomes.DeliveredFirstTry != 1 || !s.AllDelivered() {
					t.Errorf("outcomes %+v, want delivered first try", s.Outcomes)
				}
			case espf.Dropped:
				if s.Outcomes.DroppedBy4xx != 1 || len(s.Dropped) != 1 || s.Dropped[0].Status != tt.status {
					t.Errorf("outcomes %+v dropped %v, want one dropped by %d", s.Outcomes, s.Dropped, tt.status)
				}
			case espf.GaveUp:
				if s.Outcomes.GaveUp != 1 {
					t.Errorf("outcomes %+v, want gave up", s.Outcomes)
				}
			}
		})
	}
}

func TestHangPastTimeoutIsResent(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s, recs := send(t, srv.URL, func(c *sim.Config) { c.Timeout = 50 * time.Millisecond })
	if len(recs) != 3 || n.Load() != 3 {
		t.Fatalf("%d attempts recorded, server saw %d; want 3 (re-sent after each timeout)", len(recs), n.Load())
	}
	for _, r := range recs {
		if r.Error != "timeout" {
			t.Errorf("attempt %d: error %q, want timeout", r.Attempt, r.Error)
		}
	}
	if s.Outcomes.GaveUp != 1 || s.ByAnswer["timeout"] != 3 {
		t.Errorf("outcomes %+v by_answer %v", s.Outcomes, s.ByAnswer)
	}
}

func TestConnectionResetIsResent(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
			_ = conn.Close()
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	s, recs := send(t, srv.URL, nil)
	if len(recs) != 3 {
		t.Fatalf("%d attempts, want 3: two resets then 200", len(recs))
	}
	for _, r := range recs[:2] {
		if r.Error != "reset" && r.Error != "eof" {
			t.Errorf("attempt %d: error %q, want reset", r.Attempt, r.Error)
		}
		if r.Outcome != espf.Resent {
			t.Errorf("attempt %d: outcome %s, want retry", r.Attempt, r.Outcome)
		}
	}
	if s.Outcomes.DeliveredAfterRetry != 1 {
		t.Errorf("outcomes %+v, want delivered after retries", s.Outcomes)
	}
}

func TestResendKeepsBodyWithFreshDateAndSignature(t *testing.T) {
	t.Parallel()
	var rec recorder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		if len(rec.all()) == 1 {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	// Date has one-second resolution: wait just over a second so it must change.
	s, _ := send(t, srv.URL, func(c *sim.Config) { c.Retry.Interval = 1100 * time.Millisecond })
	hits := rec.all()
	if len(hits) != 2 || s.Outcomes.DeliveredAfterRetry != 1 {
		t.Fatalf("%d requests, outcomes %+v; want 503 then 200", len(hits), s.Outcomes)
	}
	a, b := hits[0], hits[1]
	if !bytes.Equal(a.body, b.body) {
		t.Errorf("re-sent body differs:\n%s\n%s", a.body, b.body)
	}
	if a.header.Get("Date") == b.header.Get("Date") {
		t.Errorf("re-sent with the same Date %q", a.header.Get("Date"))
	}
	if a.header.Get("Authorization") == b.header.Get("Authorization") {
		t.Errorf("re-sent with the same signature %q", a.header.Get("Authorization"))
	}
	au := signatureAuth(t)
	for i, h := range hits {
		if err := au.Verify(h.header, h.body, time.Now()); err != nil {
			t.Errorf("request %d does not verify: %v", i+1, err)
		}
	}
}

func TestDuplicatesAnswered500AreReported(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		again := seen[string(b)]
		seen[string(b)] = true
		mu.Unlock()
		if again {
			w.WriteHeader(500) // an Application that is not idempotent
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	s, recs := send(t, srv.URL, func(c *sim.Config) {
		c.Events = gen(t, 5)
		c.Duplicates = 1
		c.DuplicateDelay = time.Millisecond
	})
	if s.Outcomes.DeliveredFirstTry != 5 || s.Duplicates.Sent != 5 {
		t.Fatalf("outcomes %+v duplicates %+v; want 5 delivered, 5 duplicates", s.Outcomes, s.Duplicates)
	}
	if s.Duplicates.Findings != 5 || s.Duplicates.ByAnswer["500"] != 5 {
		t.Errorf("duplicates %+v, want 5 findings answered 500", s.Duplicates)
	}
	if len(recs) != 10 {
		t.Errorf("%d records, want 10 (duplicates are sent once, not retried)", len(recs))
	}
}

// TestInteropStrictReceiver plays the public PHP receiver of contract.md §5:
// it splits the auth header at a single space, wants exactly two parts and
// exactly one Date.
func TestInteropStrictReceiver(t *testing.T) {
	t.Parallel()
	schemes := map[string]sign.Config{
		"signature": {Scheme: "signature", KeyIDs: []string{"test"}, Keys: []string{"signature_key"}, MaxSkew: time.Minute},
		"basic":     {Scheme: "basic", Users: []string{"username"}, Passwords: []string{"secret"}},
		"custom":    {Scheme: "custom", Name: "Plain", Credentials: []string{"passexample"}},
		"bearer":    {Scheme: "bearer", Keys: []string{"superkey"}},
	}
	for name, sc := range schemes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			au, err := sign.New(sc)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				parts := strings.Split(r.Header.Get("Authorization"), " ")
				switch {
				case r.Method != http.MethodPost, r.Header.Get("Content-Type") != "application/json":
					w.WriteHeader(400)
				case len(r.Header.Values("Date")) != 1, len(parts) != 2:
					w.WriteHeader(401)
				case au.Verify(r.Header, body, time.Now()) != nil:
					w.WriteHeader(401)
				default:
					w.WriteHeader(200)
				}
			}))
			defer srv.Close()
			s, _ := send(t, srv.URL, func(c *sim.Config) { c.Auth = au; c.Events = gen(t, 3) })
			if !s.AllDelivered() {
				t.Errorf("strict receiver answered %v, want 200 for all", s.ByAnswer)
			}
		})
	}
}

func TestInterruptReturnsSummary(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	var once sync.Once
	s, _, err := collectRun(ctx, sim.Config{URL: srv.URL, Events: gen(t, 0),
		Phases: []sim.Phase{{Rate: sim.Rate{Freq: 1000, Per: time.Second}}},
		Sink: sim.RecordFunc(func(r *sim.Record) {
			if r.Outcome == espf.Delivered {
				once.Do(cancel)
			}
		})})
	if err == nil || s == nil || !s.Interrupted || s.Events == 0 {
		t.Fatalf("Run after cancel = %v, %+v; want the summary so far and the context error", err, s)
	}
}

func genB(b *testing.B, n int64) event.Source {
	g, err := event.NewGenerator(event.GenConfig{Count: n})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func signatureAuthB(b *testing.B) sign.Auth {
	a, err := sign.New(sign.Config{Scheme: "signature", KeyIDs: []string{"test"}, Keys: []string{"signature_key"}})
	if err != nil {
		b.Fatal(err)
	}
	return a
}
