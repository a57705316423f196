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

// ParseBackoff checks a --retry-backoff value; "" is the default,
// exponential.
func ParseBackoff(s string) (Backoff, error) {
	switch Backoff(s) {
	case "", Exponential:
		return Exponential, nil
	case Fixed:
		return Fixed, nil
	}
	return "", fmt.Errorf("retry backoff %q: want exponential or fixed", s)
}

// Retry is the re-send policy. PortaBilling does not document its interval
// or attempt count (contract.md §2, decision). The defaults (DefaultRetry)
// carry every event across a routine outage of the Application (a restart,
// a deploy: 30 s and more) and still make a run end: waits of 1, 2, 4, 8 s,
// then 10 s each, 10 attempts in all, so an event that meets nothing but
// connection errors gives up about 65 s (± 10 % jitter) after its first
// attempt. Jitter means what it says: 0 is none (DefaultRetry and send's
// --retry-jitter give DefaultJitter).
type Retry struct {
	Interval    time.Duration // the first wait; 0 = DefaultRetryInterval
	Backoff     Backoff       // "" = DefaultBackoff
	Jitter      float64       // ± fraction of each wait, 0..1; 0 = none
	MaxAttempts int           // attempts in all, the first included; 0 = DefaultMaxAttempts
	MaxInterval time.Duration // cap for exponential; 0 = DefaultMaxIntervalFactor × Interval
}

// The re-send policy's defaults (DefaultRetry).
const (
	DefaultRetryInterval     = time.Second
	DefaultBackoff           = Exponential
	DefaultMaxAttempts       = 10
	DefaultJitter            = 0.1
	DefaultMaxIntervalFactor = 10 // the exponential cap, in retry intervals
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
		r.MaxInterval = DefaultMaxIntervalFactor * r.Interval
	}
	return r
}

// Delay is the wait after failed attempt number attempt (1-based) before
// the next one, with r's zero fields at their defaults; u in [0,1) picks
// the jitter.
func (r Retry) Delay(attempt int, u float64) time.Duration {
	r = r.withDefaults()
	d := r.Interval
	if r.Backoff != Fixed {
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

// Waits is the sum of the waits between an event's first and last attempt,
// without jitter (nominal) and with the most jitter (longest): how long an
// event that meets nothing but fast failures takes to give up, with r's
// zero fields at their defaults.
func (r Retry) Waits() (nominal, longest time.Duration) {
	r = r.withDefaults()
	flat := r
	flat.Jitter = -1
	for n := 1; n < r.MaxAttempts; n++ {
		nominal += flat.Delay(n, 0)
		longest += r.Delay(n, 1)
	}
	return nominal, longest
}

// DrainMargin is what the default drain adds to the longest retry waits.
const DrainMargin = 10 * time.Second

// DefaultDrainFor is the drain when none is given: long enough for every
// event's last re-send under r (the longest waits plus DrainMargin), so the
// drain never cuts a default retry schedule short: 81.5 s with the default
// Retry.
func DefaultDrainFor(r Retry) time.Duration {
	_, longest := r.Waits()
	return longest + DrainMargin
}
