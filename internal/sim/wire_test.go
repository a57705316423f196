package sim_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sim"
)

// TestBodyPastTimeoutIsResent: a 200 whose body has not arrived when the
// timeout passes is no answer: the ESPF re-sends, and so does send.
func TestBodyPastTimeoutIsResent(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush() // the status line and part of the body are out
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s, recs := send(t, srv.URL, func(c *sim.Config) { c.Timeout = 100 * time.Millisecond })
	if len(recs) != 3 || n.Load() != 3 {
		t.Fatalf("%d attempts recorded, server saw %d; want 3 (re-sent after each timeout)", len(recs), n.Load())
	}
	for _, r := range recs {
		if r.Error != espf.ErrTimeout || r.Status != 0 {
			t.Errorf("attempt %d: status %d error %q, want a timeout (no status)", r.Attempt, r.Status, r.Error)
		}
	}
	if s.Outcomes.GaveUp != 1 || s.Outcomes.DeliveredFirstTry != 0 {
		t.Errorf("outcomes %+v: a 200 without its body must not count as delivered", s.Outcomes)
	}
}

// TestSnapshotShowsAHungApplication: while a request hangs, the progress
// snapshots say how long no answer has come and how old the oldest
// request in flight is; once it is answered, nothing is in flight.
func TestSnapshotShowsAHungApplication(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	var mu sync.Mutex
	var snaps []sim.Snapshot
	var once sync.Once
	sink := sim.ProgressFunc(func(p sim.Snapshot) {
		mu.Lock()
		snaps = append(snaps, p)
		hung := 0
		for _, s := range snaps {
			if s.InFlight == 1 && s.OldestInFlight > 0 {
				hung++
			}
		}
		mu.Unlock()
		if hung >= 3 {
			once.Do(func() { close(release) })
		}
	})
	s, _ := send(t, srv.URL, func(c *sim.Config) { c.ProgressEvery = 10 * time.Millisecond; c.Sink = sink })
	if s.Outcomes.DeliveredFirstTry != 1 {
		t.Fatalf("outcomes %+v", s.Outcomes)
	}
	mu.Lock()
	defer mu.Unlock()
	var prev time.Duration
	hung := 0
	for _, p := range snaps {
		if p.InFlight == 0 {
			continue
		}
		hung++
		if p.OldestInFlight <= 0 || p.OldestInFlight < prev {
			t.Errorf("snapshot at %s: oldest in flight %s after %s: want it positive and growing while the request hangs", p.Elapsed, p.OldestInFlight, prev)
		}
		if p.SinceAnswer < p.OldestInFlight {
			t.Errorf("snapshot at %s: no answer for %s, but the oldest request is %s old: no answer came since it was sent", p.Elapsed, p.SinceAnswer, p.OldestInFlight)
		}
		prev = p.OldestInFlight
	}
	last := snaps[len(snaps)-1]
	if hung < 3 || last.InFlight != 0 || last.OldestInFlight != 0 {
		t.Errorf("%d snapshots with the request in flight; last %+v: want nothing in flight at the end", hung, last)
	}
}
