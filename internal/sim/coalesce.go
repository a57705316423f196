package sim

import (
	"sync"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
)

// coalescing is PortaBilling's queue for the coalesced types (contract §7):
// per type and account or customer, only the newest emitted event is
// processed, so an older one waiting for a re-send is superseded when a
// newer one is emitted, and one that fails after a newer one was emitted
// is superseded at once.
type coalescing struct {
	mu      sync.Mutex
	newest  map[string]int64                   // key -> greatest i_event emitted
	waiting map[string]map[int64]chan struct{} // key -> i_event -> closed when superseded
}

// emitted records a newly emitted event and supersedes the older ones of
// its key that wait for a re-send.
func (q *coalescing) emitted(it event.Item) {
	key, ok := entity.CoalesceKey(it.Type, it.Entity)
	if !ok {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.newest == nil {
		q.newest, q.waiting = map[string]int64{}, map[string]map[int64]chan struct{}{}
	}
	q.newest[key] = max(q.newest[key], it.IEvent)
	for id, ch := range q.waiting[key] {
		if id < it.IEvent {
			close(ch)
			delete(q.waiting[key], id)
		}
	}
	if len(q.waiting[key]) == 0 {
		delete(q.waiting, key)
	}
}

// wait registers an event that waits for a re-send. The channel is closed
// when a newer event of its key supersedes it (at once when one was emitted
// already); nil for an event that is never coalesced. release unregisters
// it once the wait is over.
func (q *coalescing) wait(it event.Item) (superseded <-chan struct{}, release func()) {
	key, ok := entity.CoalesceKey(it.Type, it.Entity)
	if !ok {
		return nil, func() {}
	}
	ch := make(chan struct{})
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.newest == nil {
		q.newest, q.waiting = map[string]int64{}, map[string]map[int64]chan struct{}{}
	}
	if q.newest[key] > it.IEvent {
		close(ch)
		return ch, func() {}
	}
	if q.waiting[key] == nil {
		q.waiting[key] = map[int64]chan struct{}{}
	}
	q.waiting[key][it.IEvent] = ch
	return ch, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if m := q.waiting[key]; m[it.IEvent] == ch {
			delete(m, it.IEvent)
			if len(m) == 0 {
				delete(q.waiting, key)
			}
		}
	}
}

// supersede reports the event as superseded: it is never sent again.
func (e *engine) supersede(j job) {
	now := time.Now()
	e.results <- &Record{IEvent: j.it.IEvent, EventType: j.it.Type, Entity: j.it.Entity, Attempt: j.n, Phase: j.phase,
		Intended: j.intended, Sent: now, Answered: now, Outcome: espf.Superseded, Last: j.it.Last}
}
