package sim

import (
	"fmt"
	"math"
	"time"
)

// Arrival names how requests are spaced within a phase.
type Arrival string

// Arrival processes.
const (
	Constant Arrival = "constant" // evenly spaced: 10/s is one every 100ms
	Poisson  Arrival = "poisson"  // exponential gaps with the same mean (seeded)
)

// ParseArrival checks an --arrival value.
func ParseArrival(s string) (Arrival, error) {
	switch Arrival(s) {
	case "", Constant:
		return Constant, nil
	case Poisson:
		return Poisson, nil
	}
	return "", fmt.Errorf("arrival %q: want constant or poisson", s)
}

// Phase is one stretch of the schedule. A phase ends after Duration or
// after Count events, whichever comes first; with neither it runs until
// the events or the context run out. A phase that ends by its Duration
// lasts all of it, however early its last event was due: the next phase
// starts exactly Duration after it started. A phase that ends by its Count
// ends with its last event: the next one starts at that event's intended
// send time.
type Phase struct {
	Name     string // for people (a scenario's phase name); the engine does not read it
	Rate     Rate   // zero = DefaultRate
	Arrival  Arrival
	Duration time.Duration
	Count    int64
}

// Pacer decides when the next event is due. Pace gets the time elapsed
// since the phase started and the number of events sent in it; it returns
// how long to wait before sending the next one (negative when the sender is
// behind: the event was due that long ago) or stop when the phase is over.
type Pacer interface {
	Pace(elapsed time.Duration, sent int64) (wait time.Duration, stop bool)
}

// NewPacer builds the pacer for a phase. seed makes poisson gaps
// reproducible.
func NewPacer(p Phase, seed int64) Pacer {
	r := p.Rate
	if r.Freq <= 0 || r.Per <= 0 {
		if r.IsZero() {
			r = DefaultRate
		} else {
			return stopPacer{}
		}
	}
	base := limits{count: p.Count, dur: p.Duration}
	if p.Arrival == Poisson {
		return &PoissonPacer{limits: base, Mean: float64(r.Per) / float64(r.Freq), rng: splitmix(uint64(seed))}
	}
	return ConstantPacer{limits: base, Rate: r}
}

type stopPacer struct{}

func (stopPacer) Pace(time.Duration, int64) (time.Duration, bool) { return 0, true }

type limits struct {
	count int64
	dur   time.Duration
}

func (l limits) over(sent int64, due time.Duration) bool {
	return (l.count > 0 && sent >= l.count) || (l.dur > 0 && due >= l.dur)
}

// end is when the phase is over, from its start, once its pacer stopped
// after sent events, the last of them due at last: Count events first
// end it with the last one, otherwise it lasts its Duration. (A phase with
// neither never stops by itself; when it ends, the schedule does.)
func (p Phase) end(sent int64, last time.Duration) time.Duration {
	if p.Duration > 0 && (p.Count <= 0 || sent < p.Count) {
		return p.Duration
	}
	return last
}

// ConstantPacer spaces events evenly: event n is due at n·Per/Freq. It is a
// pure function of its arguments.
type ConstantPacer struct {
	limits
	Rate Rate
}

// Pace implements Pacer.
func (c ConstantPacer) Pace(elapsed time.Duration, sent int64) (time.Duration, bool) {
	due := time.Duration(float64(sent) * float64(c.Rate.Per) / float64(c.Rate.Freq))
	if c.over(sent, due) {
		return 0, true
	}
	return due - elapsed, false
}

// PoissonPacer draws exponential gaps with mean Mean nanoseconds from a
// seeded generator: the same seed gives the same schedule. The due time of
// event n is the sum of the first n gaps, so Pace is deterministic in sent
// (it caches the running sum and must be called with sent increasing, as
// the engine does).
type PoissonPacer struct {
	limits
	Mean float64
	rng  splitmix
	n    int64
	due  float64
}

// Pace implements Pacer.
func (p *PoissonPacer) Pace(elapsed time.Duration, sent int64) (time.Duration, bool) {
	for p.n < sent {
		p.due += p.gap()
		p.n++
	}
	due := time.Duration(p.due)
	if p.over(sent, due) {
		return 0, true
	}
	return due - elapsed, false
}

func (p *PoissonPacer) gap() float64 {
	u := p.rng.float()
	return -math.Log(1-u) * p.Mean
}

// splitmix is a tiny deterministic generator (SplitMix64), so that gaps,
// ids and jitter are reproducible from --seed without shared state.
type splitmix uint64

func (s *splitmix) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a number in [0, 1).
func (s *splitmix) float() float64 { return float64(s.next()>>11) / (1 << 53) }
