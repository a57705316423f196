package sim

import (
	"testing"
	"time"
)

// TestRetryDefaultsAreIdempotent: the engine applies the defaults, and
// Delay applies them again; "no jitter" must survive both.
func TestRetryDefaultsAreIdempotent(t *testing.T) {
	t.Parallel()
	for _, r := range []Retry{{Jitter: -1}, {Jitter: -1, Backoff: Fixed, Interval: 50 * time.Millisecond}, {}} {
		once, twice := r.withDefaults(), r.withDefaults().withDefaults()
		if once != twice {
			t.Errorf("%+v: defaults once %+v, twice %+v", r, once, twice)
		}
		if r.Jitter < 0 {
			for _, u := range []float64{0, 0.99} {
				if got, want := twice.Delay(1, u), once.Interval; got != want {
					t.Errorf("%+v without jitter: Delay(1, %v) = %s, want exactly %s", r, u, got, want)
				}
			}
		}
	}
}
