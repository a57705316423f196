package runner

import (
	"context"
	"slices"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/restart"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/sim"
)

// restarts runs target.restart_cmd during a run and gathers what the
// durability verdict needs: the restarts, what the sender saw of every
// event (when it was first sent, its 200s) and every entity read back.
//
// The moments: restart.Plan picks, from the seed, a point in each of
// target.restarts equal slices of the middle of the planned stream
// (plannedEvents), counted in emitted events; once the stream passes one,
// the restart starts as the next attempt starts, so a request is in flight
// when the command starts (the sender's in-flight count is in the
// report). The next one becomes due only after the previous one ended.
type restarts struct {
	sched  *restart.Scheduler
	traces map[int64]*entity.Trace // the sink goroutine's, read after the run
	probes []entity.Probe          // the state check's, one call at a time
}

// startRestarts wires the restarts into cfg when the scenario has a
// restart command: ctx is the run's, cancel ends it when a command fails.
func startRestarts(ctx context.Context, s *scenario.Scenario, cfg *sim.Config, cancel context.CancelCauseFunc) *restarts {
	if s.Target == nil || s.Target.RestartCmd == "" {
		return nil
	}
	n := s.Target.Restarts
	if n <= 0 {
		n = restart.DefaultRestarts
	}
	rs := &restarts{traces: map[int64]*entity.Trace{}}
	rs.sched = restart.NewScheduler(ctx, restart.Command{Shell: s.Target.RestartCmd},
		restart.Plan(n, plannedEvents(s), cfg.Seed), func(err error) { cancel(err) })
	cfg.OnEmit = sim.Emits(cfg.OnEmit, func(event.Item) { rs.sched.Emitted() })
	cfg.OnAttempt = rs.sched.Attempt
	return rs
}

// Record implements sim.Sink: every event's first send and its 200s.
func (rs *restarts) Record(r *sim.Record) {
	rs.sched.Answered(r.Sent, r.Answered, r.Status)
	tr := rs.traces[r.IEvent]
	if tr == nil {
		tr = &entity.Trace{FirstSent: r.Sent}
		rs.traces[r.IEvent] = tr
	}
	if r.Sent.Before(tr.FirstSent) {
		tr.FirstSent = r.Sent
	}
	if r.Outcome == espf.Delivered {
		tr.OK = append(tr.OK, r.Answered)
	}
}

// Progress implements sim.Sink.
func (rs *restarts) Progress(sim.Snapshot) {}

// probe is the state check's hook.
func (rs *restarts) probe(e entity.Expectation, a espf.StateAnswer) {
	rs.probes = append(rs.probes, entity.Probe{Exp: e, Got: a.State, HasIEvent: a.HasIEvent, Applied: a.Applied, HasApplied: a.HasApplied})
}

// judge is the durability verdict once the state was read back.
func (rs *restarts) judge(done []entity.Restart, start time.Time) *entity.Durability {
	for _, tr := range rs.traces {
		slices.SortFunc(tr.OK, time.Time.Compare)
	}
	return entity.JudgeDurability(rs.probes, rs.traces, done, start, sim.DefaultStateList)
}

// plannedEvents is an estimate, on the low side, of the events the run
// emits, where the restarts are placed: the phases' counts, or their rate
// × duration, and for a lifecycle each entity's Created and mean number of
// Updated events.
func plannedEvents(s *scenario.Scenario) int64 {
	var n int64
	for _, p := range s.Phases {
		switch {
		case p.Count > 0:
			n += p.Count
		case p.Duration > 0:
			n += int64(p.Rate.PerSecond() * p.Duration.Seconds())
		default:
			n = -1 // open-ended: the events decide
		}
		if n < 0 {
			break
		}
	}
	if lc := s.Events.Lifecycle; lc != nil {
		// each entity's Created and its mean number of Updated events
		// (Deleted events and bursts left out: a lower estimate keeps
		// every restart inside the stream)
		lo, hi := lc.UpdatesMin, lc.UpdatesMax
		switch {
		case lo == 0 && hi == 0:
			lo, hi = event.DefaultUpdatesMin, event.DefaultUpdatesMax
		case hi < 0:
			lo, hi = 0, 0
		}
		if l := lc.Entities * int64(2+lo+hi) / 2; n < 0 || l < n {
			n = l
		}
	}
	if n < 0 {
		n = 100
	}
	return n
}
