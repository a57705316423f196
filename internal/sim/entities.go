package sim

import (
	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espf"
)

// Entities is a Sink that follows the attempts of every lifecycle event
// (Created, Updated, Deleted of an account, customer, invoice or DID) into
// an entity.Tracker: which deliveries were reordered, and, when the tracker
// keeps every entity, each one's expected final state. An event's first
// attempt is its emission; delivered, dropped, given up and pending are how
// it finished; an event still waiting for a re-send when the run ended has
// no final record, so its entity stays unknown.
type Entities struct {
	Tracker *entity.Tracker
}

// NewEntities follows a run; keep remembers every entity (for the
// final-state check) instead of forgetting each once its history is done.
func NewEntities(keep bool) *Entities { return &Entities{Tracker: entity.NewTracker(keep)} }

// Record implements Sink.
func (s *Entities) Record(r *Record) {
	if r.Duplicate {
		return
	}
	k, a, ok := entity.FromEntity(r.EventType, r.Entity)
	if !ok || !a.Lifecycle() {
		return
	}
	if r.Attempt == 1 {
		s.Tracker.Emitted(k, a, r.IEvent, r.Last)
	}
	switch r.Outcome {
	case espf.Delivered:
		s.Tracker.Delivered(k, a, r.IEvent, r.Attempt)
	case espf.Dropped, espf.GaveUp, espf.Pending:
		s.Tracker.Lost(k, a)
	}
}

// Progress implements Sink.
func (s *Entities) Progress(Snapshot) {}
