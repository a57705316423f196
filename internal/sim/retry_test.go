package sim_test

import (
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/sim"
)

// TestDefaultRetrySchedule: the defaults wait 1, 2, 4, 8 s then 10 s each,
// 10 attempts in all: 65 s of waits (71.5 s at the most jitter), which
// carries an event across a 30 s outage with attempts to spare, and the
// default drain (81.5 s) never cuts that schedule short.
func TestDefaultRetrySchedule(t *testing.T) {
	t.Parallel()
	r := sim.DefaultRetry()
	want := []time.Duration{1, 2, 4, 8, 10, 10, 10, 10, 10}
	noJitter := sim.Retry{} // zero fields at their defaults; a zero Jitter is none
	var at time.Duration
	for i, w := range want {
		if got := noJitter.Delay(i+1, 0.5); got != w*time.Second {
			t.Errorf("wait after attempt %d = %s, want %s", i+1, got, w*time.Second)
		}
		at += noJitter.Delay(i+1, 0.5)
	}
	if at != 65*time.Second {
		t.Errorf("the last attempt comes %s after the first, want 65s", at)
	}
	nominal, longest := r.Waits()
	if nominal != 65*time.Second || longest != 71500*time.Millisecond {
		t.Errorf("Waits() = %s, %s; want 65s, 71.5s", nominal, longest)
	}
	// The attempt that outlives a 30 s outage even at the least jitter.
	var earliest time.Duration
	n := 1
	for ; earliest <= 30*time.Second && n < sim.DefaultMaxAttempts; n++ {
		earliest += r.Delay(n, 0) // u = 0: the shortest wait
	}
	if earliest <= 30*time.Second {
		t.Errorf("with the shortest waits no attempt comes after a 30 s outage (last at %s)", earliest)
	} else if left := sim.DefaultMaxAttempts - n; left < 2 {
		t.Errorf("attempt %d at %s outlives a 30 s outage, but only %d attempts are left after it", n, earliest, left)
	}
	if d := sim.DefaultDrainFor(r); d != 81500*time.Millisecond {
		t.Errorf("default drain %s, want 81.5s", d)
	}
	fixed := sim.Retry{Backoff: sim.Fixed, Jitter: -1, MaxAttempts: 5}
	if nominal, _ := fixed.Waits(); nominal != 4*time.Second {
		t.Errorf("fixed 1 s, 5 attempts: waits %s, want 4s", nominal)
	}
}

func TestParseBackoff(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]sim.Backoff{"": sim.Exponential, "exponential": sim.Exponential, "fixed": sim.Fixed} {
		if got, err := sim.ParseBackoff(in); err != nil || got != want {
			t.Errorf("ParseBackoff(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := sim.ParseBackoff("linear"); err == nil {
		t.Error("linear accepted")
	}
}
