package sim

import (
	"sync"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
)

// Entities follows every lifecycle event (Created, Updated, Deleted of an
// account, customer, invoice or DID) into an entity.Tracker: which
// deliveries were reordered, and, when the tracker keeps every entity,
// each one's expected final state. Emitted is the emission hook
// (Config.OnEmit): it counts each event when it is emitted, in emission
// order, so an entity is forgotten once its history's last event was
// emitted and every one of its events has finished; Record (a Sink) sees
// how each finished: delivered, dropped, given up, pending. An event still
// waiting for a re-send when the run ended has no final record, so its
// entity stays unknown.
type Entities struct {
	mu      sync.Mutex
	Tracker *entity.Tracker
}

// NewEntities follows a run; keep remembers every entity (for the
// final-state check) instead of forgetting each once its history is done.
func NewEntities(keep bool) *Entities { return &Entities{Tracker: entity.NewTracker(keep)} }

// Emitted is the emission hook.
func (s *Entities) Emitted(it event.Item) {
	k, a, ok := entity.FromEntity(it.Type, it.Entity)
	if !ok || !a.Lifecycle() {
		return
	}
	s.mu.Lock()
	s.Tracker.Emitted(k, a, it.IEvent, it.Last)
	s.mu.Unlock()
}

// Record implements Sink.
func (s *Entities) Record(r *Record) {
	if r.Duplicate {
		return
	}
	k, a, ok := entity.FromEntity(r.EventType, r.Entity)
	if !ok || !a.Lifecycle() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Outcome {
	case espf.Delivered:
		s.Tracker.Delivered(k, a, r.IEvent, r.Attempt)
	case espf.Dropped, espf.GaveUp, espf.Pending:
		s.Tracker.Lost(k, a)
	}
}

// Progress implements Sink.
func (s *Entities) Progress(Snapshot) {}

// Reordered returns the reordering counts so far.
func (s *Entities) Reordered() entity.Reordered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Tracker.Reordered()
}

// Expectations returns every remembered entity's expected final state.
func (s *Entities) Expectations() []entity.Expectation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Tracker.Expectations()
}

// Len is the number of entities remembered.
func (s *Entities) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Tracker.Len()
}

// Emits calls every non-nil hook, in order: one Config.OnEmit for several
// followers (the API mock, Entities).
func Emits(hooks ...func(event.Item)) func(event.Item) {
	var hs []func(event.Item)
	for _, h := range hooks {
		if h != nil {
			hs = append(hs, h)
		}
	}
	if len(hs) == 0 {
		return nil
	}
	return func(it event.Item) {
		for _, h := range hs {
			h(it)
		}
	}
}
