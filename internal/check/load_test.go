package check_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/event"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// inProcess serves h without a network, so that a synctest bubble owns
// every goroutine and the clock: latencies and timeouts are exact. The
// handler's context is the client's, so it notices a client giving up.
func inProcess(h http.Handler) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if err := r.Context().Err(); err != nil {
			return nil, err // the client gave up before the answer
		}
		return rec.Result(), nil
	})}
}

// deaf is inProcess with a handler that does not notice a client giving
// up (as net/http's HTTP/1 server does not while the body is unread): it
// keeps working on abandoned requests, and a backlog builds.
func deaf(h http.Handler) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		done := make(chan *http.Response, 1)
		go func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
			done <- rec.Result()
		}()
		select {
		case resp := <-done:
			return resp, nil
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	})}
}

// TestSlowUnderConcurrency: an Application that handles one request at a
// time, 30 ms each, is fine alone (and at the soak's 10/s) and times out
// under the burst: only 2/burst fails. The backlog the burst leaves
// behind (it goes on with the abandoned requests) grades no later case:
// check waits until a valid event is answered again.
func TestSlowUnderConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := vectors["basic"]
		ref := receiver(t, &c)
		one := make(chan struct{}, 1)
		slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			one <- struct{}{}
			time.Sleep(30 * time.Millisecond)
			<-one
			ref.ServeHTTP(w, r)
		})
		rs, err := check.Run(t.Context(), check.Config{URL: "http://app.test/espf", Creds: c, Client: deaf(slow),
			Timeout: time.Second, Slow: 500 * time.Millisecond, Soak: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		assertGrades(t, rs, []string{"2/burst"}, nil, false)
		m := byID(rs)
		if b := m["2/burst"]; b.Answer != "67×timeout, 33×200" || !strings.Contains(b.Consequence, "67 of 100 events not answered 200: no answer within 1s") ||
			!strings.Contains(b.Consequence, "after it, a valid event waited 2.09s for an answer") {
			t.Errorf("2/burst: %q %q, want the 33 served within the 1s timeout answered, 67 timeouts", b.Answer, b.Consequence)
		}
		if s := m["2/soak"]; s.Requests != 20 || *s.P99MS != 30 {
			t.Errorf("2/soak: %d requests, p99 %vms; want 20 at 10/s for 2s, each 30ms", s.Requests, *s.P99MS)
		}
		if d := m["2/duplicate-concurrent"]; d.Grade != check.Pass || d.LatencyMS != 300 {
			t.Errorf("2/duplicate-concurrent: %s, last in %vms; want 10 copies served one by one, the last after 300ms", d.Grade, d.LatencyMS)
		}
	})
}

// TestLoadLatency: every request takes 300 ms, in parallel. The burst's
// p99 over --slow 200ms warns, the soak's fails; nothing else is graded
// on time.
func TestLoadLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := vectors["custom"]
		ref := receiver(t, &c)
		lag := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(300 * time.Millisecond)
			ref.ServeHTTP(w, r)
		})
		start := time.Now()
		rs, err := check.Run(t.Context(), check.Config{URL: "http://app.test/espf", Creds: c, Client: inProcess(lag),
			Slow: 200 * time.Millisecond, Soak: 3 * time.Second, Select: []string{"2/burst", "2/soak"}})
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 300*time.Millisecond+300*time.Millisecond+2900*time.Millisecond+300*time.Millisecond {
			t.Errorf("the run took %s, want the valid event sent first (300ms), the burst (300ms) and 30 requests 100ms apart, the last answered after 300ms (3.8s)", took)
		}
		b, s := rs[0], rs[1]
		if b.Grade != check.Warn || !strings.Contains(b.Consequence, "the burst's p99 was 300ms, over --slow 200ms") {
			t.Errorf("2/burst: %s %q, want a warning about the p99", b.Grade, b.Consequence)
		}
		if s.Grade != check.Fail || s.Requests != 30 || !strings.Contains(s.Consequence, "the soak's p99 was 300ms, over --slow 200ms") {
			t.Errorf("2/soak: %s after %d requests, %q; want a failure after 30", s.Grade, s.Requests, s.Consequence)
		}
	})
}

// TestHangs: an Application that never answers DID events: 1/did fails
// after --timeout, the ESPF re-sends the event; the run goes on.
func TestHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := vectors["signature"]
		ref := receiver(t, &c)
		hang := withBody(func(w http.ResponseWriter, r *http.Request, body []byte) {
			if ev, _ := event.Decode(body); typeIs(ev, "DID/") {
				<-r.Context().Done()
				return
			}
			ref.ServeHTTP(w, r)
		})
		rs, err := check.Run(t.Context(), check.Config{URL: "http://app.test/espf", Creds: c, Client: inProcess(hang),
			Timeout: 2 * time.Second, Select: []string{"1"}})
		if err != nil {
			t.Fatal(err)
		}
		d := byID(rs)["1/did"]
		if d.Grade != check.Fail || d.Answer != "timeout after 2s" || d.LatencyMS != 2000 ||
			!strings.Contains(d.Consequence, "no answer within 2s, check's --timeout (the ESPF waits 300 s") {
			t.Errorf("1/did: %s %q in %vms: %q; want a timeout after 2s", d.Grade, d.Answer, d.LatencyMS, d.Consequence)
		}
		if got := graded(rs, check.Fail); len(got) != 1 {
			t.Errorf("failed %q, want only 1/did", got)
		}
	})
}

// TestRateLimiter: an Application that answers 429 above 5 requests a
// second. The first five requests (the first five cases) pass; every
// later case fails, each diagnosed as a rate limiter that makes the ESPF
// drop events for good, and none as an authorization result. Which
// requests a rate limiter refuses depends on time, so the run is in a
// synctest bubble: every request arrives at the same instant.
func TestRateLimiter(t *testing.T) {
	for _, scheme := range []string{"basic", "bearer"} {
		t.Run(scheme, func(t *testing.T) { synctest.Test(t, func(t *testing.T) { rateLimited(t, scheme) }) })
	}
}

func rateLimited(t *testing.T, scheme string) {
	c := vectors[scheme]
	var l limiter
	ref := receiver(t, &c)
	limited := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.allow() {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		ref.ServeHTTP(w, r)
	})
	rs, err := check.Run(t.Context(), check.Config{URL: "http://app.test/espf", Creds: c, Client: inProcess(limited)})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range rs {
		if r.Requests > 0 && !slices.Contains([]string{"1/subscriber", "1/customer", "1/invoice", "1/did", "1/sim-updated"}, r.ID) {
			want = append(want, r.ID)
		}
	}
	if len(want) < 15 {
		t.Fatalf("only %d cases sent requests", len(want))
	}
	assertGrades(t, rs, want, nil, false)
	for _, r := range rs {
		if r.Grade != check.Fail {
			continue
		}
		if !strings.Contains(r.Consequence, "a rate limiter") || !strings.Contains(r.Consequence, "drops") {
			t.Errorf("%s: %q, want a rate limiter diagnosis", r.ID, r.Consequence)
		}
		if strings.Contains(r.Consequence, "refused with") || strings.Contains(r.Consequence, "credentials") {
			t.Errorf("%s: %q reads as an authorization result", r.ID, r.Consequence)
		}
	}
}
