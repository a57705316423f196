package sim

import (
	"fmt"
	"time"
)

// Backoff names how the wait between attempts grows.
type Backoff string

// Backoff policies.
const (
	Fixed       Backoff = "fixed"       // every wait is Interval
	Exponential Backoff = "exponential" // Interval, 2×, 4×… capped at MaxInterval
)

// ParseBackoff checks a --retry-backoff value; "" is DefaultBackoff.
func ParseBackoff(s string) (Backoff, error) {
	switch Backoff(s) {
	case "":
		return DefaultBackoff, nil
	case Fixed:
		return Fixed, nil
	case Exponential:
		return Exponential, nil
	}
	return "", fmt.Errorf("retry backoff %q: want fixed or exponential", s)
}

// Retry is the re-send policy. PortaBilling does not document its interval
// or attempt count (contract.md §2, decision): DefaultRetry makes a test run
// end. Jitter means what it says: 0 is none (DefaultRetry and send's
// --retry-jitter give DefaultJitter).
type Retry struct {
	Interval    time.Duration // 0 = DefaultRetryInterval
	Backoff     Backoff       // "" = DefaultBackoff
	Jitter      float64       // ± fraction of each wait, 0..1; 0 = none
	MaxAttempts int           // attempts in all, the first included; 0 = DefaultMaxAttempts
	MaxInterval time.Duration // cap for exponential; 0 = 10 × Interval
}

// The re-send policy's defaults (DefaultRetry).
const (
	DefaultRetryInterval = time.Second
	DefaultBackoff       = Fixed
	DefaultMaxAttempts   = 5
	DefaultJitter        = 0.1
)

func (r Retry) withDefaults() Retry {
	if r.Interval <= 0 {
		r.Interval = DefaultRetryInterval
	}
	if r.Backoff == "" {
		r.Backoff = DefaultBackoff
	}
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	r.Jitter = min(max(r.Jitter, 0), 1)
	if r.MaxInterval <= 0 {
		r.MaxInterval = 10 * r.Interval
	}
	return r
}

// Delay is the wait after failed attempt number attempt (1-based) before
// the next one; u in [0,1) picks the jitter.
func (r Retry) Delay(attempt int, u float64) time.Duration {
	d := r.Interval
	if r.Backoff == Exponential {
		for i := 1; i < attempt && d < r.MaxInterval; i++ {
			d *= 2
		}
		d = min(d, r.MaxInterval)
	}
	if r.Jitter > 0 {
		d = time.Duration(float64(d) * (1 + r.Jitter*(2*u-1)))
	}
	return max(d, 0)
}
