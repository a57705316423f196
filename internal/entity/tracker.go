package entity

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is how a delivery was out of order: it names the event delivered
// late and the newer event of the same entity that had been delivered
// before it.
type Kind string

// Kinds of reordering, worst first.
const (
	CreateAfterDelete  Kind = "create_after_delete"  // a Created delivered after the entity's Deleted
	UpdateAfterDelete  Kind = "update_after_delete"  // an Updated delivered after the entity's Deleted
	UpdateBeforeCreate Kind = "update_before_create" // a Created delivered after a newer Updated
	UpdateAfterUpdate  Kind = "update_after_update"  // an older Updated delivered after a newer one
	DeleteAfterNewer   Kind = "delete_after_newer"   // a Deleted delivered after a newer event (an id used again)
)

// Kinds lists every kind in report order.
var Kinds = []Kind{UpdateBeforeCreate, CreateAfterDelete, UpdateAfterDelete, UpdateAfterUpdate, DeleteAfterNewer}

// Words is the kind for people.
func (k Kind) Words() string {
	switch k {
	case CreateAfterDelete:
		return "Created delivered after the Deleted"
	case UpdateAfterDelete:
		return "Updated delivered after the Deleted"
	case UpdateBeforeCreate:
		return "Updated delivered before the Created"
	case UpdateAfterUpdate:
		return "older Updated delivered after a newer one"
	case DeleteAfterNewer:
		return "Deleted delivered after a newer event"
	}
	return string(k)
}

// Reordered counts deliveries that came after a later-emitted event of the
// same entity had been delivered.
type Reordered struct {
	Entities int64          `json:"entities"`
	Events   int64          `json:"events"`
	ByKind   map[Kind]int64 `json:"by_kind,omitempty"`
}

// Step is one delivered event of an entity's history.
type Step struct {
	IEvent int64
	Action Action
	Resent bool // delivered after at least one re-send
}

// words is "Created 17" or "Created 17 re-sent and delivered".
func (s Step) words() string {
	w := fmt.Sprintf("%s %d", s.Action, s.IEvent)
	if s.Resent {
		w += " re-sent and"
	}
	return w + " delivered"
}

// history is what the tracker knows of one entity.
type history struct {
	want      State // the delivered events applied (design b)
	maxDeliv  int64 // the greatest i_event delivered
	delDeliv  int64 // the greatest Deleted delivered
	open      int32 // emitted, not finished
	lost      bool  // an event was dropped, gave up or is still pending
	last      bool  // the history's last event was emitted
	reordered bool
	steps     []Step // delivered, in delivery order; kept only for the final-state check
}

// Tracker follows every entity's lifecycle events through a run: what was
// emitted, what was delivered in which order. It counts reordered
// deliveries, and with keep it remembers every entity's expected final
// state for the final-state check. Without keep, an entity is forgotten
// once its last event (Emitted's last) has finished, so memory follows the
// entities in progress, not all of them. It is used from one goroutine.
type Tracker struct {
	keep      bool
	m         map[Key]*history
	reordered Reordered
}

// NewTracker returns an empty tracker; keep remembers every entity.
func NewTracker(keep bool) *Tracker {
	return &Tracker{keep: keep, m: map[Key]*history{}, reordered: Reordered{ByKind: map[Kind]int64{}}}
}

func (t *Tracker) get(k Key) *history {
	h := t.m[k]
	if h == nil {
		h = &history{}
		t.m[k] = h
	}
	return h
}

// Emitted records that a lifecycle event was emitted; last says it is the
// last event of the entity's history (a lifecycle stream knows), so the
// entity can be forgotten once every event has finished. Other actions are
// not tracked.
func (t *Tracker) Emitted(k Key, a Action, iEvent int64, last bool) {
	if !a.Lifecycle() {
		return
	}
	h := t.get(k)
	h.open++
	h.last = h.last || last
}

// Delivered records an event's first delivery (attempt is its number, 1
// for the first send). It returns the kind of reordering when a newer
// event of the entity had already been delivered.
func (t *Tracker) Delivered(k Key, a Action, iEvent int64, attempt int) (Kind, bool) {
	if !a.Lifecycle() {
		return "", false
	}
	h := t.get(k)
	var kind Kind
	late := h.maxDeliv > iEvent
	if late {
		switch {
		case a == Deleted:
			kind = DeleteAfterNewer
		case h.delDeliv > iEvent && a == Created:
			kind = CreateAfterDelete
		case h.delDeliv > iEvent:
			kind = UpdateAfterDelete
		case a == Created:
			kind = UpdateBeforeCreate
		default:
			kind = UpdateAfterUpdate
		}
		t.reordered.Events++
		t.reordered.ByKind[kind]++
		if !h.reordered {
			h.reordered = true
			t.reordered.Entities++
		}
	}
	h.maxDeliv = max(h.maxDeliv, iEvent)
	if a == Deleted {
		h.delDeliv = max(h.delDeliv, iEvent)
	}
	h.want.Apply(a, iEvent)
	if t.keep {
		h.steps = append(h.steps, Step{IEvent: iEvent, Action: a, Resent: attempt > 1})
	}
	t.finish(k, h)
	return kind, late
}

// Lost records that an event finished without being delivered (dropped,
// gave up, still pending at the end): the entity's final state is then
// unknown.
func (t *Tracker) Lost(k Key, a Action) {
	if !a.Lifecycle() {
		return
	}
	h := t.get(k)
	h.lost = true
	t.finish(k, h)
}

func (t *Tracker) finish(k Key, h *history) {
	if h.open > 0 {
		h.open--
	}
	if !t.keep && h.last && h.open == 0 {
		delete(t.m, k)
	}
}

// Reordered returns the reordering counts so far.
func (t *Tracker) Reordered() Reordered {
	r := t.reordered
	r.ByKind = make(map[Kind]int64, len(t.reordered.ByKind))
	for k, n := range t.reordered.ByKind {
		if n > 0 {
			r.ByKind[k] = n
		}
	}
	return r
}

// Len is the number of entities remembered.
func (t *Tracker) Len() int { return len(t.m) }

// Expectation is one entity's expected final state: its delivered events
// applied in i_event order. Known is false when one of its events was
// dropped, gave up or is still pending: the final state is then not
// compared.
type Expectation struct {
	Key       Key
	Want      State
	Known     bool
	Delivered []Step // in delivery order (with keep)
}

// Expectations returns every remembered entity, sorted by key.
func (t *Tracker) Expectations() []Expectation {
	out := make([]Expectation, 0, len(t.m))
	for k, h := range t.m {
		out = append(out, Expectation{Key: k, Want: h.want, Known: !h.lost && h.open == 0 && h.want.IEvent > 0,
			Delivered: h.steps})
	}
	slices.SortFunc(out, func(a, b Expectation) int { return CompareKeys(a.Key, b.Key) })
	return out
}

// Matches compares what the Application answered for the entity with the
// expectation: existence must agree, and i_event too when the Application
// gave one (hasIEvent).
func (e Expectation) Matches(got State, hasIEvent bool) bool {
	if got.Exists != e.Want.Exists {
		return false
	}
	return !hasIEvent || got.IEvent == e.Want.IEvent
}

// deliveredAfter reports whether event ievent was delivered after event
// than was (in delivery order).
func (e Expectation) deliveredAfter(ievent, than int64) bool {
	seen := false
	for _, s := range e.Delivered {
		switch s.IEvent {
		case than:
			seen = true
		case ievent:
			if seen {
				return true
			}
		}
	}
	return false
}

// Explain says in words how the entity's events went and what the
// Application shows: "emitted Created 17, Updated 23, Deleted 41; Deleted
// 41 delivered, then Created 17 re-sent and delivered: the Application
// shows it existing (i_event 17), expected deleted (i_event 41)".
func (e Expectation) Explain(got State, hasIEvent bool) string {
	emitted := slices.Clone(e.Delivered)
	slices.SortFunc(emitted, func(a, b Step) int { return int(a.IEvent - b.IEvent) })
	// each event once: a re-sent one is in Delivered once per delivery
	emitted = slices.CompactFunc(emitted, func(a, b Step) bool { return a.IEvent == b.IEvent })
	var b strings.Builder
	b.WriteString("emitted ")
	for i, s := range emitted {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", s.Action, s.IEvent)
	}
	b.WriteString("; ")
	for i, s := range e.Delivered {
		switch {
		case i == 0:
		case i == len(e.Delivered)-1:
			b.WriteString(", then ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(s.words())
	}
	b.WriteString(": the Application shows it ")
	switch {
	case got.Exists && hasIEvent:
		fmt.Fprintf(&b, "existing (i_event %d)", got.IEvent)
	case got.Exists:
		b.WriteString("existing")
	case hasIEvent && got.IEvent > 0:
		fmt.Fprintf(&b, "deleted (i_event %d)", got.IEvent)
	default:
		b.WriteString("absent")
	}
	b.WriteString(", expected ")
	b.WriteString(e.Want.Words())
	switch {
	case hasIEvent && got.IEvent > e.Want.IEvent:
		fmt.Fprintf(&b, ": the state names i_event %d, which was not delivered for this entity", got.IEvent)
	case got.Exists && e.Want.Tombstone() && hasIEvent && got.IEvent < e.Want.IEvent && !e.deliveredAfter(got.IEvent, e.Want.IEvent):
		// nothing the state names came after the Deleted: it was not applied
		fmt.Fprintf(&b, ": the Deleted (i_event %d) was answered 200 but not applied", e.Want.IEvent)
	case got.Exists && e.Want.Tombstone():
		b.WriteString(": a deleted entity brought back")
	case !got.Exists && e.Want.Exists:
		b.WriteString(": an existing entity lost")
	case got.Exists && hasIEvent && got.IEvent < e.Want.IEvent:
		b.WriteString(": the newer changes lost")
	}
	return b.String()
}
