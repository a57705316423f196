package verify_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/espfctl/espfctl/internal/verify"
)

// TestDelay runs on synctest's fake clock: a fixed --delay holds every
// answer exactly that long, a range stays within its bounds.
func TestDelay(t *testing.T) {
	for _, tt := range []struct {
		delay    string
		min, max time.Duration
	}{
		{"150ms", 150 * time.Millisecond, 150 * time.Millisecond},
		{"10ms-200ms", 10 * time.Millisecond, 200 * time.Millisecond},
	} {
		t.Run(tt.delay, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var d verify.Delay
				if err := d.Set(tt.delay); err != nil {
					t.Fatal(err)
				}
				rc, err := verify.NewReceiver(verify.Config{Faults: verify.Faults{Delay: d, Seed: 3}})
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				for i := range 5 {
					req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body(int64(i))))
					req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
					rec := httptest.NewRecorder()
					start := time.Now()
					rc.ServeHTTP(rec, req)
					took := time.Since(start)
					if rec.Code != 200 || took < tt.min || took > tt.max {
						t.Errorf("delivery %d: %d after %v, want 200 after %v to %v", i, rec.Code, took, tt.min, tt.max)
					}
				}
			})
		})
	}
}

func TestDelayFlag(t *testing.T) {
	for _, bad := range []string{"", "fast", "200ms-10ms", "-5ms", "1s-x"} {
		var d verify.Delay
		if err := d.Set(bad); err == nil {
			t.Errorf("Delay.Set(%q) = %v, want an error", bad, d)
		}
	}
}

func TestFailFirst(t *testing.T) {
	rc, srv := startReceiver(t, verify.Config{Faults: verify.Faults{FailFirst: 2}})
	var got []int
	for range 3 {
		got = append(got, post(t, srv.URL, nil, time.Now(), body(77), nil))
	}
	if want := []int{500, 500, 200}; !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	evs := events(t, rc.Journal())
	if len(evs) != 1 || evs[0].Deliveries != 1 {
		t.Errorf("journal %+v: want the event once, first delivered by the 200", evs)
	}
}

func TestResetFault(t *testing.T) {
	_, srv := startReceiver(t, verify.Config{Faults: verify.Faults{ResetRate: 1}})
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body(3)))
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("got status %d, want the connection dropped", resp.StatusCode)
	}
}

func TestFaultsReproducible(t *testing.T) {
	run := func() []int {
		_, srv := startReceiver(t, verify.Config{Faults: verify.Faults{FailRate: 0.5, Seed: 7}})
		var got []int
		for i := range 20 {
			got = append(got, post(t, srv.URL, nil, time.Now(), body(int64(i)), nil))
		}
		return got
	}
	a, b := run(), run()
	if !slices.Equal(a, b) || !slices.Contains(a, 500) {
		t.Errorf("seeded fail-rate answers differ or never fail: %v vs %v", a, b)
	}
}

// TestHangUntilShutdown: a hung delivery is never answered 200, and a
// shutdown lets it go instead of waiting out the grace period.
func TestHangUntilShutdown(t *testing.T) {
	rc, err := verify.NewReceiver(verify.Config{Faults: verify.Faults{HangRate: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	entered := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { close(entered); rc.ServeHTTP(w, r) })
	addr, stop := serveOn(t, h, nil)
	answered := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader(body(8)))
		req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered %d", resp.StatusCode)
		}
		answered <- err
	}()
	<-entered
	if err := stop(); err != nil {
		t.Errorf("Serve: %v, want a clean drain", err)
	}
	if err := <-answered; err != nil && strings.HasPrefix(err.Error(), "answered") {
		t.Errorf("hung delivery %v, want no answer", err)
	}
	if evs := events(t, rc.Journal()); len(evs) != 0 {
		t.Errorf("journal %+v, want nothing: a hung delivery is not delivered", evs)
	}
}
