package verify

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Faults make the receiver misbehave on purpose, to see what a sender does.
// They apply only to deliveries that passed every check (method, size,
// auth, body), in this order: delay, hang, reset, fail-first, fail-rate.
// The zero value injects nothing.
type Faults struct {
	FailFirst  int     // answer the first N deliveries of every i_event with FailStatus
	FailStatus int     // 0 = 500
	FailRate   float64 // probability of answering FailStatus
	Delay      Delay   // wait before answering
	HangRate   float64 // probability of never answering (until the client gives up or the server stops)
	ResetRate  float64 // probability of dropping the connection without an answer
	Seed       int64   // the random draws are reproducible for a given seed and arrival order
}

// Enabled reports whether any fault is configured.
func (f Faults) Enabled() bool {
	return f.FailFirst > 0 || f.FailRate > 0 || f.Delay.Max > 0 || f.HangRate > 0 || f.ResetRate > 0
}

// Validate checks the probabilities and the status.
func (f Faults) Validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"fail rate", f.FailRate}, {"hang rate", f.HangRate}, {"reset rate", f.ResetRate}} {
		if p.v < 0 || p.v > 1 {
			return fmt.Errorf("%s %v: want a probability between 0 and 1", p.name, p.v)
		}
	}
	if f.FailFirst < 0 {
		return fmt.Errorf("fail first %d: must not be negative", f.FailFirst)
	}
	if f.FailStatus != 0 && (f.FailStatus < 100 || f.FailStatus > 599 || f.FailStatus == http.StatusOK) {
		return fmt.Errorf("fail status %d: want an HTTP status other than 200", f.FailStatus)
	}
	return nil
}

// Delay is a fixed wait (Min == Max) or a uniform range. It implements
// pflag.Value: "50ms" or "10ms-200ms".
type Delay struct{ Min, Max time.Duration }

func (d *Delay) String() string {
	if d == nil || d.Max == 0 {
		return "0s"
	}
	if d.Min == d.Max {
		return d.Min.String()
	}
	return d.Min.String() + "-" + d.Max.String()
}

// Set parses "D" or "MIN-MAX".
func (d *Delay) Set(s string) error {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	min, err := time.ParseDuration(lo)
	if err != nil {
		return fmt.Errorf("delay %q: want a duration such as 50ms, or a range such as 10ms-200ms", s)
	}
	max := min
	if isRange {
		if max, err = time.ParseDuration(hi); err != nil {
			return fmt.Errorf("delay %q: want a duration such as 50ms, or a range such as 10ms-200ms", s)
		}
	}
	if min < 0 || max < min {
		return fmt.Errorf("delay %q: want 0 <= min <= max", s)
	}
	d.Min, d.Max = min, max
	return nil
}

// Type names the flag's value for help output.
func (d *Delay) Type() string { return "duration[-duration]" }

// fault is what the injector decided for one delivery.
type fault struct {
	delay  time.Duration
	hang   bool
	reset  bool
	status int // 0 = no failure
	name   string
}

// maxFailCounters bounds the --fail-first counters: at most this many
// events being failed at once are remembered; past it the oldest counter
// is forgotten (that event, if re-sent, is failed from the start again).
const maxFailCounters = 1 << 16

// injector draws the faults. Its random source and per-event attempt
// counts are guarded by one mutex, so the draws follow arrival order.
// A counter lives only while its event is being failed: it is freed when
// the event is answered 200 (done), and a later delivery of an event the
// journal already holds is not failed again (delivered).
type injector struct {
	f         Faults
	mu        sync.Mutex
	rng       *rand.Rand
	attempts  map[int64]failCount
	order     []failKey // FIFO of counters, for eviction; len <= maxFailCounters
	head, seq int
	delivered func(int64) bool // nil: nothing was delivered before
}

type failCount struct{ n, seq int }
type failKey struct {
	id  int64
	seq int
}

func newInjector(f Faults) *injector {
	if f.FailStatus == 0 {
		f.FailStatus = http.StatusInternalServerError
	}
	return &injector{f: f, rng: rand.New(rand.NewPCG(uint64(f.Seed), uint64(f.Seed)^0x9e3779b97f4a7c15)), attempts: map[int64]failCount{}}
}

// count is the number of this delivery of iEvent among those that reached
// the fault stage; 0 when the event was already delivered (not failed again).
func (in *injector) count(iEvent int64) int {
	if c, ok := in.attempts[iEvent]; ok {
		c.n++
		in.attempts[iEvent] = c
		return c.n
	}
	if in.delivered != nil && in.delivered(iEvent) {
		return 0
	}
	in.seq++
	k := failKey{iEvent, in.seq}
	if len(in.order) < maxFailCounters {
		in.order = append(in.order, k)
	} else {
		old := in.order[in.head]
		if c, ok := in.attempts[old.id]; ok && c.seq == old.seq {
			delete(in.attempts, old.id)
		}
		in.order[in.head] = k
		in.head = (in.head + 1) % maxFailCounters
	}
	in.attempts[iEvent] = failCount{n: 1, seq: k.seq}
	return 1
}

// done frees iEvent's counter once it was answered 200.
func (in *injector) done(iEvent int64) {
	if in.f.FailFirst == 0 {
		return
	}
	in.mu.Lock()
	delete(in.attempts, iEvent)
	in.mu.Unlock()
}

// counters is how many fail-first counters are held.
func (in *injector) counters() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.attempts)
}

func (in *injector) decide(iEvent int64) fault {
	if !in.f.Enabled() {
		return fault{}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	var ft fault
	// Draw every probability on every delivery, so one fault's setting does
	// not shift the sequence of another's.
	if in.f.Delay.Max > 0 {
		ft.delay = in.f.Delay.Min
		if span := in.f.Delay.Max - in.f.Delay.Min; span > 0 {
			ft.delay += time.Duration(in.rng.Int64N(int64(span) + 1))
		}
	}
	hang, reset, fail := in.rng.Float64(), in.rng.Float64(), in.rng.Float64()
	n := 0
	if in.f.FailFirst > 0 {
		n = in.count(iEvent)
	}
	switch {
	case hang < in.f.HangRate:
		ft.hang, ft.name = true, "hang"
	case reset < in.f.ResetRate:
		ft.reset, ft.name = true, "reset"
	case n > 0 && n <= in.f.FailFirst:
		ft.status, ft.name = in.f.FailStatus, fmt.Sprintf("fail-first %d/%d", n, in.f.FailFirst)
	case fail < in.f.FailRate:
		ft.status, ft.name = in.f.FailStatus, "fail-rate"
	}
	if ft.name == "" && ft.delay > 0 {
		ft.name = "delay"
	}
	return ft
}
