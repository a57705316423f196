package event

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
)

type emitted struct {
	it     Item
	ev     *Event
	key    entity.Key
	action entity.Action
}

func drain(t *testing.T, l *Lifecycle) []emitted {
	t.Helper()
	var out []emitted
	for {
		it, err := l.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		// the events queued together with it go out right after it
		for _, it := range append([]Item{it}, it.With...) {
			ev, err := Decode(it.Body)
			if err != nil {
				t.Fatalf("event %d does not decode: %v", it.IEvent, err)
			}
			if missing, known := ev.Missing(Default()); !known || len(missing) > 0 {
				t.Fatalf("%s: type known %t, missing %v", it.Body, known, missing)
			}
			k, a, ok := entity.Of(ev.Type, ev.Variables)
			if !ok || !a.Lifecycle() || k.Entity() != it.Entity {
				t.Fatalf("%s: entity %v %v %t, item says %s", it.Body, k, a, ok, it.Entity)
			}
			out = append(out, emitted{it: it, ev: ev, key: k, action: a})
		}
	}
}

// inherited reports whether e is an account event inherited from its
// customer's change (one of a burst).
func (e emitted) inherited() bool { return e.it.Burst != "" && e.key.Group == entity.Subscriber }

func TestLifecycleHistories(t *testing.T) {
	t.Parallel()
	const n = 4000
	l, err := NewLifecycle(LifecycleConfig{Entities: n, UpdatesMin: 1, UpdatesMax: 4, Deleted: 0.3, Active: 50, FirstEvent: 100, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	evs := drain(t, l)
	type hist struct {
		actions []entity.Action
		first   int // index of its first event in the stream
		lasts   int
	}
	hs := map[entity.Key]*hist{}
	createdAt := map[string]int{} // customer id -> index of its Created
	deletes, deletable := 0, 0
	for i, e := range evs {
		if e.it.IEvent != int64(100+i) {
			t.Fatalf("event %d has i_event %d: i_event must grow by one in emission order", i, e.it.IEvent)
		}
		h := hs[e.key]
		if h == nil {
			h = &hist{first: i}
			hs[e.key] = h
		}
		if !e.it.Internal && !e.inherited() {
			h.actions = append(h.actions, e.action)
		}
		if e.it.Last {
			h.lasts++
		}
		switch {
		case e.key.Group == entity.Customer && e.action == entity.Created:
			createdAt[e.key.ID] = i
		case e.key.Group == entity.Invoice && e.action == entity.Created:
			owner, _, _ := entity.Of("Customer/Created", map[string]any{"i_customer": e.ev.Variables["i_customer"]})
			at, ok := createdAt[owner.ID]
			if !ok || at > i {
				t.Fatalf("%s belongs to customer %s, not created earlier in the stream", e.it.Body, owner.ID)
			}
		}
	}
	if len(hs) != n {
		t.Fatalf("%d distinct entities, want %d", len(hs), n)
	}
	groups := map[entity.Group]int{}
	for k, h := range hs {
		groups[k.Group]++
		a := h.actions
		if a[0] != entity.Created {
			t.Fatalf("%s starts with %v", k, a[0])
		}
		body := a[1:]
		if body[len(body)-1] == entity.Deleted {
			deletes++
			body = body[:len(body)-1]
		}
		if k.Group != entity.Invoice {
			deletable++
		} else if a[len(a)-1] == entity.Deleted {
			t.Fatalf("invoice %s deleted: the catalog has no Invoice/Deleted", k)
		}
		if len(body) < 1 || len(body) > 4 || slices.ContainsFunc(body, func(x entity.Action) bool { return x != entity.Updated }) {
			t.Fatalf("%s history %v: want Created, 1-4 Updated, optional Deleted", k, a)
		}
		if h.lasts != 1 || !evs[lastIndex(evs, k)].it.Last {
			t.Fatalf("%s: %d events marked last, want only its final one", k, h.lasts)
		}
	}
	for _, g := range entity.Groups {
		if groups[g] < n/8 {
			t.Errorf("group %s has %d of %d entities: %v", g, groups[g], n, groups)
		}
	}
	if share := float64(deletes) / float64(deletable); share < 0.25 || share > 0.35 {
		t.Errorf("%.2f of deletable histories end with Deleted, want about 0.3", share)
	}
}

func lastIndex(evs []emitted, k entity.Key) int {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].key == k {
			return i
		}
	}
	return -1
}

func TestLifecycleSeedAndActive(t *testing.T) {
	t.Parallel()
	bodies := func(seed int64, active int) []string {
		// event_time is the emission time: a fixed clock, so that only the seed decides
		at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
		l, err := NewLifecycle(LifecycleConfig{Entities: 300, Active: active, Seed: seed, Groups: []entity.Group{entity.Subscriber, entity.DID},
			Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range drain(t, l) {
			out = append(out, string(e.it.Body))
		}
		return out
	}
	a, b, c := bodies(7, 20), bodies(7, 20), bodies(8, 20)
	if !slices.Equal(a, b) {
		t.Error("the same seed gave two streams")
	}
	if slices.Equal(a, c) {
		t.Error("seeds 7 and 8 gave the same stream")
	}
	// --active 1: one history at a time, never interleaved
	seq := bodies(7, 1)
	seen := map[string]bool{}
	prev := ""
	for _, b := range seq {
		ev, _ := Decode([]byte(b))
		k := ev.Entity()
		if k != prev && seen[k] {
			t.Fatalf("--active 1 came back to %s after another entity", k)
		}
		seen[k], prev = true, k
	}
	if spread(a) <= spread(seq) {
		t.Errorf("--active 20 spreads a history over %.1f events, --active 1 over %.1f: want wider", spread(a), spread(seq))
	}
}

// spread is the mean distance between an entity's first and last event.
func spread(bodies []string) float64 {
	first, last := map[string]int{}, map[string]int{}
	for i, b := range bodies {
		ev, _ := Decode([]byte(b))
		k := ev.Entity()
		if _, ok := first[k]; !ok {
			first[k] = i
		}
		last[k] = i
	}
	sum := 0
	for k := range first {
		sum += last[k] - first[k]
	}
	return float64(sum) / float64(len(first))
}

// TestLifecycleMemoryBounded: what the stream holds follows --active, not
// --entities.
func TestLifecycleMemoryBounded(t *testing.T) {
	t.Parallel()
	l, err := NewLifecycle(LifecycleConfig{Entities: 200000, Active: 16, Groups: []entity.Group{entity.Customer, entity.Invoice}, Deleted: -1})
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; ; n++ {
		_, err := l.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(l.slots) > 16 || len(l.alive) > 16 || len(l.aliveIdx) > 16 || len(l.done) > customerRing {
			t.Fatalf("after %d events: %d slots, %d alive, %d finished customers held", n, len(l.slots), len(l.alive), len(l.done))
		}
	}
	if l.started != 200000 {
		t.Errorf("started %d entities", l.started)
	}
}

func TestLifecycleConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  LifecycleConfig
		says string
	}{
		{LifecycleConfig{}, "entities must be positive"},
		{LifecycleConfig{Entities: 5, Groups: []entity.Group{entity.Invoice}}, "Invoice needs Customer"},
		{LifecycleConfig{Entities: 11, IDMin: 1, IDMax: 10}, "holds 10 ids"},
		{LifecycleConfig{Entities: 5, UpdatesMin: 3, UpdatesMax: 2}, "updates 3-2"},
		{LifecycleConfig{Entities: 5, Deleted: 1.5}, "deleted share"},
		{LifecycleConfig{Entities: 5, Groups: []entity.Group{entity.DID, entity.DID}}, "twice"},
	}
	for _, tt := range tests {
		if _, err := NewLifecycle(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%+v: %v, want %q", tt.cfg, err, tt.says)
		}
	}
	l, err := NewLifecycle(LifecycleConfig{Entities: 1, UpdatesMin: 0, UpdatesMax: 0, Deleted: -1, StringIDs: true, Groups: []entity.Group{entity.DID}, Payload: Minimal})
	if err != nil {
		t.Fatal(err)
	}
	evs := drain(t, l)
	// updates 0-0 means the defaults (1-3)
	if len(evs) < 2 || string(evs[0].it.Body) != `{"event_type":"DID/Created","variables":{"i_event":"1","number":"15551000000"}}` {
		t.Errorf("first DID event %s", evs[0].it.Body)
	}
	// 0-0: Created, then Deleted for every history that has one
	l, err = NewLifecycle(LifecycleConfig{Entities: 3, UpdatesMax: -1, Deleted: 1, Groups: []entity.Group{entity.Subscriber}})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range drain(t, l) {
		types = append(types, e.it.Type)
	}
	if c := strings.Count(strings.Join(types, " "), "Subscriber/Created"); c != 3 || len(types) != 6 || slices.Contains(types, "Subscriber/Updated") {
		t.Errorf("updates 0-0, deleted 100%%: %v", types)
	}
}

// BenchmarkLifecycle is the cost of one lifecycle event, body included.
func BenchmarkLifecycle(b *testing.B) {
	l, err := NewLifecycle(LifecycleConfig{Entities: 1 << 40, Active: 100, IDMin: 1, IDMax: 1 << 50})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLifecycleInternalAndBursts: about Internal of an account's or
// customer's events after its Created are internal names of three parts,
// applied as updates; a customer change reaches the customer's accounts in
// progress as a burst, queued right after it, one inherited event each,
// never before the account's Created nor after its end.
func TestLifecycleInternalAndBursts(t *testing.T) {
	t.Parallel()
	l, err := NewLifecycle(LifecycleConfig{Entities: 3000, Active: 60, Seed: 9, Internal: 0.25, Inherited: 0.5,
		Groups: []entity.Group{entity.Customer, entity.Subscriber}})
	if err != nil {
		t.Fatal(err)
	}
	evs := drain(t, l)
	created, ended := map[entity.Key]int{}, map[entity.Key]int{}
	for i, e := range evs {
		if e.action == entity.Created {
			created[e.key] = i
		}
		if e.it.Last {
			ended[e.key] = i
		}
	}
	internal, after, bursts, inherited := 0, 0, 0, 0
	for i, e := range evs {
		if e.action != entity.Created && !e.inherited() {
			after++
		}
		if e.it.Internal {
			internal++
			if strings.Count(e.ev.Type, "/") < 2 || e.action != entity.Updated {
				t.Errorf("internal event %s: want a name of three parts, applied as an update", e.it.Body)
			}
		}
		if !e.inherited() {
			continue
		}
		inherited++
		if c, ok := created[e.key]; !ok || c > i || ended[e.key] < i {
			t.Fatalf("%s inherited by %s outside its history (created at %d, ended at %d, now %d)", e.it.Burst, e.key, c, ended[e.key], i)
		}
		if t2, _ := Default().Lookup(e.ev.Type); t2 == nil || !t2.Inherited {
			t.Errorf("%s: not a type the catalog says is inherited from Customer", e.ev.Type)
		}
		// the burst's trigger, a change of that customer, comes right before
		// the burst's first event
		j := i
		for j > 0 && evs[j-1].inherited() && evs[j-1].it.Burst == e.it.Burst {
			j--
		}
		if j == i {
			bursts++
		}
		if j == 0 || evs[j-1].key.String() != e.it.Burst || evs[j-1].it.Burst != e.it.Burst {
			t.Fatalf("burst of %s at %d does not follow a change of that customer", e.it.Burst, j)
		}
	}
	if share := float64(internal) / float64(after); share < 0.2 || share > 0.3 {
		t.Errorf("%.2f of the events after Created are internal, want about 0.25", share)
	}
	if bursts == 0 || inherited <= bursts {
		t.Errorf("%d bursts of %d inherited events: want bursts, some of several accounts", bursts, inherited)
	}
}
