package entity_test

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/event"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ    string
		vars   map[string]any
		key    string
		action entity.Action
		ok     bool
	}{
		{"Subscriber/Created", map[string]any{"i_account": json.Number("1000889"), "i_event": 7615}, "subscriber/1000889", entity.Created, true},
		{"Subscriber/Deleted", map[string]any{"i_account": "1000889"}, "subscriber/1000889", entity.Deleted, true},
		{"Account/Blocked", map[string]any{"i_account": int64(5)}, "subscriber/5", entity.Other, true},
		{"Account/New", map[string]any{"i_account": 5.0}, "subscriber/5", entity.Created, true},
		{"Customer/Updated", map[string]any{"i_customer": 42}, "customer/42", entity.Updated, true},
		// an invoice is named by i_invoice, not by the customer it belongs to
		{"Invoice/Created", map[string]any{"i_customer": 42, "i_invoice": 9}, "invoice/9", entity.Created, true},
		{"DID/Deleted", map[string]any{"number": "15551000001"}, "did/15551000001", entity.Deleted, true},
		// an internal name of three parts changes the entity: an update (contract §8)
		{"Customer/Status/Suspended", map[string]any{"i_customer": 42}, "customer/42", entity.Updated, true},
		{"Account/AccessPolicy/Changed", map[string]any{"i_account": 5}, "subscriber/5", entity.Updated, true},
		// closing is not modelled as an update
		{"Account/Status/Closed", map[string]any{"i_account": 5}, "subscriber/5", entity.Other, true},
		{"SIM/Updated", map[string]any{"i_account": 5}, "", entity.Other, false},
		{"Subscriber/Created", map[string]any{"i_customer": 5}, "", entity.Other, false},
		{"Subscriber/Created", map[string]any{"i_account": 1.5}, "", entity.Other, false},
	}
	for _, tt := range tests {
		k, a, ok := entity.Of(tt.typ, tt.vars)
		if ok != tt.ok || a != tt.action || (ok && k.String() != tt.key) {
			t.Errorf("Of(%s, %v) = %v %v %t, want %s %v %t", tt.typ, tt.vars, k, a, ok, tt.key, tt.action, tt.ok)
		}
		if !ok {
			continue
		}
		k2, a2, ok2 := entity.FromEntity(tt.typ, k.Entity())
		if !ok2 || k2 != k || a2 != a {
			t.Errorf("FromEntity(%s, %s) = %v %v %t, want the same entity back", tt.typ, k.Entity(), k2, a2, ok2)
		}
		if back, err := entity.ParseKey(k.String()); err != nil || back != k {
			t.Errorf("ParseKey(%s) = %v %v", k, back, err)
		}
	}
	if _, _, ok := entity.FromEntity("Invoice/Created", "i_customer=42"); ok {
		t.Error("an Invoice event's entity must be its i_invoice")
	}
	for _, bad := range []string{"subscriber", "sim/1", "/1", "subscriber/"} {
		if _, err := entity.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if g, err := entity.ParseGroup("DID"); err != nil || g != entity.DID {
		t.Errorf("ParseGroup(DID) = %v %v", g, err)
	}
}

// TestApplyIsOrderIndependent: design (b) ends in the same state whatever
// the arrival order, and that state is the history's newest event.
func TestApplyIsOrderIndependent(t *testing.T) {
	t.Parallel()
	type ev struct {
		a entity.Action
		n int64
	}
	hist := []ev{{entity.Created, 17}, {entity.Updated, 23}, {entity.Updated, 30}, {entity.Deleted, 41}}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		order := slices.Clone(hist)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var s entity.State
		for _, e := range order {
			s.Apply(e.a, e.n)
		}
		if s.Exists || s.IEvent != 41 || !s.Tombstone() {
			t.Fatalf("order %v ended %+v, want the tombstone of Deleted 41", order, s)
		}
	}
	// the tombstone keeps an older Created from bringing the entity back
	s := entity.State{}
	s.Apply(entity.Deleted, 41)
	if s.Apply(entity.Created, 17) || s.Exists {
		t.Errorf("Created 17 after Deleted 41 applied: %+v", s)
	}
	// an Updated that overtook its Created shows an existing entity
	s = entity.State{}
	s.Apply(entity.Updated, 23)
	if s.Apply(entity.Created, 17) || !s.Exists || s.IEvent != 23 {
		t.Errorf("Updated 23 then Created 17: %+v, want existing at 23", s)
	}
	if s.Apply(entity.Other, 99) || s.IEvent != 23 {
		t.Errorf("an Other action was applied: %+v", s)
	}
	if w := (entity.State{}).Words(); w != "absent" {
		t.Errorf("zero state says %q", w)
	}
}

func TestCoalesceKey(t *testing.T) {
	t.Parallel()
	// exactly the types contract §7 lists, each a catalog type that
	// coalesces per account or customer, as its group says
	contract := []string{"Account/ProductAddon/Changed", "Account/ProductAddon/Deleted", "Account/Service/QuotaExceeded",
		"Account/Service/Msg/QuotaExceeded", "Account/Service/Netaccess/QuotaExceeded", "Account/Service/QuotaExpired",
		"Account/Service/Msg/QuotaExpired", "Account/Service/Netaccess/QuotaExpired", "Customer/Status/Limited",
		"Customer/Status/Suspend", "Customer/Status/Suspended"}
	if got := slices.Sorted(slices.Values(entity.CoalescedTypes())); !slices.Equal(got, slices.Sorted(slices.Values(contract))) {
		t.Errorf("coalesced types %q, want contract §7's %q", got, contract)
	}
	for _, ty := range contract {
		if _, ok := event.Default().Lookup(ty); !ok {
			t.Errorf("%s: not in the event catalog", ty)
		}
		on := "i_account=5"
		if strings.HasPrefix(ty, "Customer/") {
			on = "i_customer=5"
		}
		if _, ok := entity.CoalesceKey(ty, on); !ok {
			t.Errorf("CoalesceKey(%s, %s): not coalesced", ty, on)
		}
	}
	a, ok1 := entity.CoalesceKey("Account/Service/QuotaExceeded", "i_account=5")
	b, ok2 := entity.CoalesceKey("Account/Service/QuotaExceeded", "i_account=6")
	c, ok3 := entity.CoalesceKey("Account/Service/QuotaExpired", "i_account=5")
	d, ok4 := entity.CoalesceKey("Customer/Status/Suspended", "i_customer=5")
	if !ok1 || !ok2 || !ok3 || !ok4 || a == b || a == c || a == d {
		t.Errorf("keys %q %q %q %q: want one per type and account or customer", a, b, c, d)
	}
	for _, tt := range [][2]string{{"Subscriber/Updated", "i_account=5"}, {"Customer/Status/Suspended", "i_account=5"}, {"Account/ProductAddon/Changed", ""}} {
		if k, ok := entity.CoalesceKey(tt[0], tt[1]); ok {
			t.Errorf("CoalesceKey(%s, %s) = %q, want not coalesced", tt[0], tt[1], k)
		}
	}
}

func TestTrackerReorderAndExpectation(t *testing.T) {
	t.Parallel()
	tr := entity.NewTracker(true)
	acct := entity.Key{Group: entity.Subscriber, ID: "1000003"}
	cust := entity.Key{Group: entity.Customer, ID: "42"}
	did := entity.Key{Group: entity.DID, ID: "15551000001"}
	tr.Emitted(acct, entity.Created, 17, false)
	tr.Emitted(acct, entity.Updated, 23, false)
	tr.Emitted(acct, entity.Deleted, 41, true)
	tr.Emitted(cust, entity.Created, 18, false)
	tr.Emitted(cust, entity.Updated, 19, true)
	tr.Emitted(did, entity.Created, 20, true)
	// the account: Updated and Deleted overtake the Created, which was re-sent
	if _, late := tr.Delivered(acct, entity.Updated, 23, 1); late {
		t.Error("the first delivery cannot be late")
	}
	if _, late := tr.Delivered(acct, entity.Deleted, 41, 1); late {
		t.Error("Deleted 41 after Updated 23 is in order")
	}
	if k, late := tr.Delivered(acct, entity.Created, 17, 3); !late || k != entity.CreateAfterDelete {
		t.Errorf("Created 17 after Deleted 41: %v %t, want create_after_delete", k, late)
	}
	// the customer: in order
	tr.Delivered(cust, entity.Created, 18, 1)
	tr.Delivered(cust, entity.Updated, 19, 1)
	// the DID: dropped
	tr.Lost(did, entity.Created)

	r := tr.Reordered()
	if r.Entities != 1 || r.Events != 1 || r.ByKind[entity.CreateAfterDelete] != 1 || len(r.ByKind) != 1 {
		t.Errorf("reordered %+v, want one Created after its Deleted", r)
	}
	ex := tr.Expectations()
	if len(ex) != 3 {
		t.Fatalf("expectations %+v", ex)
	}
	byKey := map[string]entity.Expectation{}
	for _, e := range ex {
		byKey[e.Key.String()] = e
	}
	a := byKey["subscriber/1000003"]
	if !a.Known || a.Want.Exists || a.Want.IEvent != 41 {
		t.Errorf("account expectation %+v, want deleted at 41", a)
	}
	// an arrival-order Application applied Created 17 last
	arrival := entity.State{Exists: true, IEvent: 17}
	if a.Matches(arrival, true) || a.Matches(entity.State{Exists: true}, false) {
		t.Error("an existing entity matched a deleted one")
	}
	if !a.Matches(entity.State{}, false) || !a.Matches(entity.State{IEvent: 41}, true) {
		t.Error("a 404 or a tombstone at 41 must match")
	}
	want := "emitted Created 17, Updated 23, Deleted 41; Updated 23 delivered, Deleted 41 delivered, then Created 17 re-sent and delivered: the Application shows it existing (i_event 17), expected deleted (i_event 41): a deleted entity brought back"
	if got := a.Explain(arrival, true); got != want {
		t.Errorf("explain:\n got %s\nwant %s", got, want)
	}
	if c := byKey["customer/42"]; !c.Known || !c.Want.Exists || c.Want.IEvent != 19 {
		t.Errorf("customer expectation %+v, want existing at 19", c)
	}
	if d := byKey["did/15551000001"]; d.Known {
		t.Errorf("a dropped DID is known: %+v", d)
	}
	if !strings.HasPrefix(ex[0].Key.String(), "customer/") {
		t.Errorf("expectations not sorted by group: %v", ex[0].Key)
	}
}

// TestExplainFollowsTheState: a Deleted delivered last but not applied is
// said to be so (the state's i_event names an event delivered before it),
// not "brought back"; an event delivered twice is emitted once.
func TestExplainFollowsTheState(t *testing.T) {
	t.Parallel()
	tr := entity.NewTracker(true)
	acct := entity.Key{Group: entity.Subscriber, ID: "7"}
	tr.Emitted(acct, entity.Created, 17, false)
	tr.Emitted(acct, entity.Deleted, 41, true)
	tr.Delivered(acct, entity.Created, 17, 1)
	tr.Delivered(acct, entity.Created, 17, 2) // a duplicate, answered 200 again
	tr.Delivered(acct, entity.Deleted, 41, 1)
	e := tr.Expectations()[0]
	got := e.Explain(entity.State{Exists: true, IEvent: 17}, true)
	want := "emitted Created 17, Deleted 41; Created 17 delivered, Created 17 re-sent and delivered, then Deleted 41 delivered: " +
		"the Application shows it existing (i_event 17), expected deleted (i_event 41): the Deleted (i_event 41) was answered 200 but not applied"
	if got != want {
		t.Errorf("explain:\n got %s\nwant %s", got, want)
	}
	if got := e.Explain(entity.State{Exists: true, IEvent: 99}, true); !strings.HasSuffix(got, ": the state names i_event 99, which was not delivered for this entity") {
		t.Errorf("explain of a state at an i_event never delivered: %s", got)
	}
}

// TestTrackerForgets: without keep, memory follows the entities in progress.
func TestTrackerForgets(t *testing.T) {
	t.Parallel()
	tr := entity.NewTracker(false)
	for i := range 10000 {
		k := entity.Key{Group: entity.Subscriber, ID: string(rune('a'+i%26)) + strings.Repeat("x", i%7) + string(rune(i))}
		tr.Emitted(k, entity.Created, int64(3*i+1), false)
		tr.Emitted(k, entity.Updated, int64(3*i+2), true)
		tr.Delivered(k, entity.Updated, int64(3*i+2), 1)
		tr.Delivered(k, entity.Created, int64(3*i+1), 2)
		if tr.Len() > 1 {
			t.Fatalf("tracker holds %d entities after %d finished histories", tr.Len(), i+1)
		}
	}
	if r := tr.Reordered(); r.Entities != 10000 || r.ByKind[entity.UpdateBeforeCreate] != 10000 {
		t.Errorf("reordered %+v, want every entity's Updated before its Created", r)
	}
}
