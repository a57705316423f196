package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/journal"
)

// StatePath is where the receiver shows an entity's state, on the delivery
// listener: GET /state/{group}/{id}, with the delivery credentials.
const StatePath = "/state/"

// EntityStates is the reference receiver's table of entities, kept with
// design (b) of contract §7: an event is applied only when its i_event is
// greater than the last one applied to its entity, and a deleted entity
// keeps a tombstone, so the table ends right whatever order the deliveries
// came in. It is safe for concurrent use.
type EntityStates struct {
	mu      sync.RWMutex
	m       map[entity.Key]entity.State
	applied map[entity.Key]int64 // lifecycle events first-delivered, per entity (Applied)
}

// NewEntityStates returns an empty table.
func NewEntityStates() *EntityStates {
	return &EntityStates{m: map[entity.Key]entity.State{}, applied: map[entity.Key]int64{}}
}

// Count counts one first delivery of a lifecycle event (the journal's
// first record of its i_event: a repeat is never counted), what the state
// endpoint answers as "applied".
func (s *EntityStates) Count(eventType string, vars map[string]any) {
	k, a, ok := entity.Of(eventType, vars)
	if !ok || !a.Lifecycle() {
		return
	}
	s.mu.Lock()
	s.applied[k]++
	s.mu.Unlock()
}

// Applied is how many of the entity's lifecycle events were first
// delivered (Count).
func (s *EntityStates) Applied(k entity.Key) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.applied[k]
}

// Apply applies one delivered event; it reports whether it changed the
// table (a lifecycle event newer than the entity's last).
func (s *EntityStates) Apply(eventType string, vars map[string]any, iEvent int64) bool {
	k, a, ok := entity.Of(eventType, vars)
	if !ok || !a.Lifecycle() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[k]
	if !st.Apply(a, iEvent) {
		return false
	}
	s.m[k] = st
	return true
}

// Get returns an entity's state; ok is false for an entity no event named.
func (s *EntityStates) Get(k entity.Key) (entity.State, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.m[k]
	return st, ok
}

// Len is the number of entities held (tombstones included).
func (s *EntityStates) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

// EntityState is one row of the table.
type EntityState struct {
	Entity string `json:"entity"` // "subscriber/1000889"
	entity.State
}

// List returns every entity, sorted by group then id (numeric ids in
// numeric order).
func (s *EntityStates) List() []EntityState {
	s.mu.RLock()
	keys := make([]entity.Key, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	s.mu.RUnlock()
	slices.SortFunc(keys, func(a, b entity.Key) int {
		if c := strings.Compare(string(a.Group), string(b.Group)); c != 0 {
			return c
		}
		if len(a.ID) != len(b.ID) {
			return len(a.ID) - len(b.ID)
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]EntityState, 0, len(keys))
	for _, k := range keys {
		st, _ := s.Get(k)
		out = append(out, EntityState{Entity: k.String(), State: st})
	}
	return out
}

// LoadEntityStates folds every event of the journal into a table, as
// serve kept it: what `journal --entities` lists and what serve starts
// from when its journal already holds events.
func LoadEntityStates(ctx context.Context, j *journal.Journal) (*EntityStates, error) {
	s := NewEntityStates()
	q := journal.Query{Kinds: []journal.Kind{journal.First}, Oldest: true, Capture: true}
	err := j.Each(ctx, q, func(r *journal.Record) error {
		s.applyRaw(r.Type, r.Variables, r.ID)
		return nil
	})
	return s, err
}

func (s *EntityStates) applyRaw(eventType string, raw json.RawMessage, iEvent int64) {
	var vars map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&vars) == nil {
		s.Apply(eventType, vars, iEvent)
		s.Count(eventType, vars) // the journal holds one first record per i_event
	}
}

// state answers GET /state/{group}/{id}: 200 {"exists": …, "i_event": …,
// "applied": …} for an entity an event named (a deleted one exists false, with its
// Deleted's i_event), 404 for one no event named; 401 without the
// delivery credentials.
func (rc *Receiver) state(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if rc.cfg.Auth != nil {
		if err := rc.cfg.Auth.Verify(r.Header, nil, rc.cfg.Now()); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error": "unauthorized: send the delivery credentials"}` + "\n"))
			return
		}
	}
	k, err := entity.ParseKey(strings.TrimPrefix(r.URL.Path, StatePath))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	st, ok := rc.states.Get(k)
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"exists": false}` + "\n"))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"exists": st.Exists, "i_event": st.IEvent, "applied": rc.states.Applied(k)})
}

// States is the receiver's entity table.
func (rc *Receiver) States() *EntityStates { return rc.states }
