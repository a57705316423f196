package sim

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"
)

// Delivery is the ESPF's delivery behaviour as a user chooses it: the wait
// for an answer, the re-send policy, the in-flight cap, duplicates, the drain
// after the schedule and extra headers. send's flags and a scenario's
// delivery: section both fill one, starting from DefaultDelivery, and reach
// the engine through NewConfig. Every value means what it says: a Jitter of
// 0 is none, not "the default".
type Delivery struct {
	Timeout        time.Duration // per attempt; must be more than 0
	Retry          Retry
	MaxInFlight    int           // requests in flight at once; at least 1
	Duplicates     float64       // share of delivered events re-sent later, 0..1
	DuplicateDelay time.Duration // wait before a duplicate; 0 = the retry interval
	Drain          time.Duration // bound on the wait for re-sends after the schedule; more than 0 (callers that leave it unset use DefaultDrainFor(Retry))
	Headers        http.Header   // extra headers on every request
	// Coalesce models PortaBilling's coalescing (contract §7, since MR115):
	// for the 11 coalesced types, a newly emitted event supersedes an older
	// one of the same type for the same account or customer that is still
	// waiting for a re-send.
	Coalesce bool
}

// DefaultDelivery is what send does without delivery flags and a scenario
// without a delivery: section: the decisions README.md documents (the ESPF's
// 300 s timeout, DefaultRetry, DefaultMaxInFlight, and a drain that follows
// the retry policy: DefaultDrainFor, so a drain never cuts the re-sends of a
// retry schedule short).
func DefaultDelivery() Delivery {
	return Delivery{Timeout: DefaultTimeout, Retry: DefaultRetry(), MaxInFlight: DefaultMaxInFlight, Drain: DefaultDrainFor(DefaultRetry()),
		Coalesce: true}
}

// DefaultRetry is the re-send policy when none is given: from
// DefaultRetryInterval, DefaultBackoff (doubling up to
// DefaultMaxIntervalFactor intervals), ± DefaultJitter, DefaultMaxAttempts
// in all.
func DefaultRetry() Retry {
	return Retry{Interval: DefaultRetryInterval, Backoff: DefaultBackoff, Jitter: DefaultJitter, MaxAttempts: DefaultMaxAttempts}
}

// SettingError is one value NewConfig rejects. Field names it as the Go
// field does ("Timeout", "Retry.Jitter", "Phases[0].Rate"), so that each
// caller can say it in its own words: send as a flag, a scenario as a key
// at its line and column.
type SettingError struct {
	Field string
	Err   error
}

func (e *SettingError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// SettingErrors returns every *SettingError in err (an errors.Join of them,
// as NewConfig returns), in order.
func SettingErrors(err error) []*SettingError {
	var out []*SettingError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, SettingErrors(e)...)
		}
		return out
	}
	var se *SettingError
	if errors.As(err, &se) {
		out = append(out, se)
	}
	return out
}

// NewConfig is the one way from what a user chose to the engine: send's
// flags and a scenario's phases and delivery both come through it (and the
// scenario loader calls it too, so a file is checked by the rules the engine
// runs by). It checks every value, reports every problem (*SettingError,
// joined), and fills in what follows from the others: the duplicate delay,
// the exponential cap. The caller adds URL, Auth, TLS or Client, Events and
// Sink.
func NewConfig(phases []Phase, d Delivery, seed int64) (Config, error) {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &SettingError{Field: field, Err: fmt.Errorf(format, a...)})
	}
	if len(phases) == 0 {
		bad("Phases", "no phases: give at least one rate with a duration or a count")
	}
	out := make([]Phase, len(phases))
	for i, p := range phases {
		out[i] = checkPhase(p, fmt.Sprintf("Phases[%d]", i), bad)
	}
	d.Retry = checkRetry(d.Retry, bad)
	positive := func(field string, v time.Duration, what string) {
		if v <= 0 {
			bad(field, "%s must be more than 0 (%s)", v, what)
		}
	}
	positive("Timeout", d.Timeout, "how long to wait for an answer")
	positive("Drain", d.Drain, "how long to wait for re-sends after the schedule")
	if d.MaxInFlight < 1 {
		bad("MaxInFlight", "%d: want at least 1 request in flight", d.MaxInFlight)
	}
	if !isFraction(d.Duplicates) {
		bad("Duplicates", "%v is not a fraction from 0 to 1", d.Duplicates)
	}
	if d.DuplicateDelay < 0 {
		bad("DuplicateDelay", "%s must not be negative", d.DuplicateDelay)
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	cfg := Config{Phases: out, Timeout: d.Timeout, Retry: d.Retry, MaxInFlight: d.MaxInFlight, Duplicates: d.Duplicates,
		DuplicateDelay: d.DuplicateDelay, Drain: d.Drain, Headers: d.Headers, Coalesce: d.Coalesce, Seed: seed}
	return withDefaults(cfg), nil
}

func checkPhase(p Phase, field string, bad func(field, format string, a ...any)) Phase {
	if p.Rate.Freq <= 0 || p.Rate.Per <= 0 {
		bad(field+".Rate", "%q sends nothing; want a positive rate such as 10/s", p.Rate.String())
	}
	arrival, err := ParseArrival(string(p.Arrival))
	if err != nil {
		bad(field+".Arrival", "%w", err)
	}
	p.Arrival = arrival
	if p.Count < 0 {
		bad(field+".Count", "%d must not be negative", p.Count)
	}
	if p.Duration < 0 {
		bad(field+".Duration", "%s must not be negative", p.Duration)
	}
	return p
}

func checkRetry(r Retry, bad func(field, format string, a ...any)) Retry {
	if r.Interval <= 0 {
		bad("Retry.Interval", "%s must be more than 0 (the wait before a re-send)", r.Interval)
	}
	backoff, err := ParseBackoff(string(r.Backoff))
	if err != nil {
		bad("Retry.Backoff", "%w", err)
	}
	r.Backoff = backoff
	if !isFraction(r.Jitter) {
		bad("Retry.Jitter", "%v is not a fraction from 0 to 1", r.Jitter)
	}
	if r.MaxAttempts < 1 {
		bad("Retry.MaxAttempts", "%d: want at least 1 attempt, the first included", r.MaxAttempts)
	}
	if r.MaxInterval < 0 {
		bad("Retry.MaxInterval", "%s must not be negative", r.MaxInterval)
	}
	return r
}

func isFraction(v float64) bool { return !math.IsNaN(v) && v >= 0 && v <= 1 }
