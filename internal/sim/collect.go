package sim

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/espfctl/espfctl/internal/espf"
)

// live is the collector's running count of a run, for progress snapshots.
// Only the collector goroutine touches it.
type live struct {
	sent, delivered, dropped int64
	lat                      *hdrhistogram.Histogram // latency from intended time, µs
}

func (l *live) add(r *Record) {
	if r.Outcome == espf.Superseded { // no attempt was made
		return
	}
	if r.Outcome != espf.Pending {
		us := max(r.Latency().Microseconds(), 1)
		_ = l.lat.RecordValue(min(us, l.lat.HighestTrackableValue()))
	}
	if r.Duplicate {
		return
	}
	if r.Attempt == 1 {
		l.sent++
	}
	switch r.Outcome {
	case espf.Delivered:
		l.delivered++
	case espf.Dropped:
		l.dropped++
	}
}

// collect hands every attempt to the sink, in order, and a snapshot every
// ProgressEvery and once at the end: every attempt passes through here, so
// the sink needs no lock.
func (e *engine) collect() {
	sink := e.cfg.Sink
	if sink == nil {
		sink = Sinks(nil)
	}
	l := &live{lat: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)}
	t := time.NewTicker(e.cfg.ProgressEvery)
	defer t.Stop()
	start := time.Now()
	last, lastSent := start, int64(0)
	for {
		select {
		case r, ok := <-e.results:
			if !ok {
				sink.Progress(e.snapshot(l, start, time.Now(), &last, &lastSent))
				return
			}
			l.add(r)
			sink.Record(r)
		case now := <-t.C:
			sink.Progress(e.snapshot(l, start, now, &last, &lastSent))
		}
	}
}

func (e *engine) snapshot(l *live, start, now time.Time, last *time.Time, lastSent *int64) Snapshot {
	s := Snapshot{Elapsed: now.Sub(start), Sent: l.sent, Attempts: e.attempts.Load(), InFlight: e.inFlight.Load(),
		Delivered: l.delivered, Resending: e.resending.Load(), Dropped: l.dropped,
		P99:         time.Duration(l.lat.ValueAtQuantile(99)) * time.Microsecond,
		SinceAnswer: e.sinceAnswer(now), OldestInFlight: e.oldestInFlight(now), Planned: Planned(e.cfg.Phases)}
	if u := e.unreach.Load(); u != nil {
		s.Unreachable = *u
	}
	if d := now.Sub(*last); d > 0 {
		s.Rate = float64(l.sent-*lastSent) / d.Seconds()
	}
	*last, *lastSent = now, l.sent
	return s
}
