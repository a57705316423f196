package sim

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
)

// job is one attempt of one event.
type job struct {
	it       event.Item
	n        int  // attempt number
	dup      bool // a duplicate of a delivered event
	phase    int  // the schedule phase the event was started in
	intended time.Time
}

// submit hands j to an idle worker, starting a new one while fewer than
// MaxInFlight run. When the cap binds it waits, and counts the wait: the
// caller's intended time does not move, so the wait shows up as latency.
// Workers are long-lived, so their stacks stay grown and the schedule does
// not pay for a new goroutine per request.
func (e *engine) submit(ctx, drainCtx context.Context, j job) bool {
	select {
	case e.jobs <- j:
		return true
	default:
	}
	if n := e.workers.Add(1); n <= int64(e.cfg.MaxInFlight) {
		e.pool.Add(1)
		go e.worker(drainCtx, e.slot())
	} else {
		e.workers.Add(-1)
		e.capBound.Add(1)
		t0 := time.Now()
		defer func() { e.capWait.Add(int64(time.Since(t0))) }()
	}
	select {
	case e.jobs <- j:
		return true
	case <-ctx.Done():
		return false
	}
}

func (e *engine) worker(drainCtx context.Context, slot *atomic.Int64) {
	defer e.pool.Done()
	// A per-worker child context keeps each attempt's timeout context from
	// registering with (and contending on) one shared parent.
	ctx, cancel := context.WithCancel(drainCtx)
	defer cancel()
	for j := range e.jobs {
		e.run(ctx, drainCtx, slot, j)
	}
}

// run makes one attempt and decides what follows, as the ESPF would: done,
// or a re-send (or duplicate) after a wait that runs beside the schedule.
func (e *engine) run(ctx, drainCtx context.Context, slot *atomic.Int64, j job) {
	r := e.attempt(ctx, slot, j)
	if j.dup {
		e.work.Done()
		return
	}
	rng := splitmix(uint64(e.cfg.Seed) ^ uint64(j.it.IEvent)*0x9e3779b97f4a7c15 ^ uint64(j.n))
	// A re-send's (or duplicate's) own intended time is the answer's time
	// plus the wait, so the records show the wait exactly as the policy
	// chose it.
	switch r.Outcome {
	case espf.Delivered:
		if e.cfg.Duplicates > 0 && rng.float() < e.cfg.Duplicates {
			go e.later(drainCtx, job{it: j.it, n: j.n + 1, dup: true, phase: j.phase, intended: r.Answered.Add(e.cfg.DuplicateDelay)}, nil, nil)
			return
		}
	case espf.Resent:
		e.resending.Add(1)
		next := job{it: j.it, n: j.n + 1, phase: j.phase, intended: r.Answered.Add(e.cfg.Retry.Delay(j.n, rng.float()))}
		var superseded <-chan struct{}
		release := func() {}
		if e.cfg.Coalesce {
			superseded, release = e.queue.wait(j.it)
		}
		go e.later(drainCtx, next, superseded, release)
		return
	}
	e.work.Done()
}

// later waits until j's intended time, then submits j; the event is
// abandoned (still pending) if the drain ends first, and superseded (never
// sent again) when a newer event of its coalesced type and entity is
// emitted meanwhile.
func (e *engine) later(drainCtx context.Context, j job, superseded <-chan struct{}, release func()) {
	if !j.dup {
		defer e.resending.Add(-1)
	}
	if release != nil {
		defer release()
	}
	switch wait(drainCtx, time.Until(j.intended), superseded) {
	case waitSuperseded:
		e.supersede(j)
		e.work.Done()
	case waitDone:
		if !e.submit(drainCtx, drainCtx, j) {
			e.work.Done()
		}
	default:
		e.work.Done()
	}
}

// How a wait ended.
const (
	waitDone = iota
	waitCancelled
	waitSuperseded
)

func wait(ctx context.Context, d time.Duration, superseded <-chan struct{}) int {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return waitCancelled
	case <-superseded:
		return waitSuperseded
	case <-t.C:
		return waitDone
	}
}
