package event

import (
	"strings"

	"github.com/espfctl/espfctl/internal/entity"
)

// What a lifecycle sends besides entity histories (contract §8): internal
// event names of three parts, and customer changes inherited by the
// customer's accounts.

// inherit makes a customer's change, for an Inherited share of them, a
// burst: the same change "inherited from Customer" by every account of
// the customer in progress, one event each, queued together with it.
func (l *Lifecycle) inherit(it Item, s *slot) (Item, error) {
	if s.group != entity.Customer || len(l.inherited) == 0 || l.rng.float() >= l.cfg.Inherited {
		return it, nil
	}
	t := l.inherited[l.rng.rand()%uint64(len(l.inherited))]
	burst := entity.Key{Group: entity.Customer, ID: l.idText(s)}.String()
	for j := range l.slots {
		a := &l.slots[j]
		if a.group != entity.Subscriber || a.owner != s.id || !a.created {
			continue
		}
		acc, err := l.item(t, a, false)
		if err != nil {
			return Item{}, err
		}
		acc.Burst = burst
		it.With = append(it.With, acc)
	}
	if len(it.With) > 0 {
		it.Burst = burst
	}
	return it, nil
}

// internalTypes are the catalog's internal names of three parts that a
// lifecycle sends to accounts and customers, and the account events
// inherited from a customer. Left out: names the model does not apply as
// an update (Status/Closed), and coalesced ones, which a newer event of
// the same type supersedes (contract §7).
func internalTypes(c *Catalog) (map[entity.Group][]*Type, []*Type) {
	byGroup := map[entity.Group][]*Type{}
	var inherited []*Type
	for _, t := range c.Types() {
		g, a, ok := entity.Classify(t.Name)
		if !ok || (g != entity.Subscriber && g != entity.Customer) || a != entity.Updated || strings.Count(t.Name, "/") < 2 {
			continue
		}
		if _, co := entity.CoalesceKey(t.Name, g.IDVar()+"=1"); co {
			continue
		}
		if t.Inherited && g == entity.Subscriber {
			inherited = append(inherited, t)
		}
		if t.Kind == "internal" {
			byGroup[g] = append(byGroup[g], t)
		}
	}
	return byGroup, inherited
}

// Roles of a catalog type in a lifecycle stream (send --list-types).
const (
	RoleHistory   = "history"   // a group's Created, Updated or Deleted
	RoleInternal  = "internal"  // an internal name sent to accounts or customers (--internal)
	RoleInherited = "inherited" // an account event inherited from a customer's change (--inherited)
)

// LifecycleRoles says which types of c a lifecycle sends, and as what;
// types it never sends are absent. An inherited type that is also an
// internal name is inherited.
func LifecycleRoles(c *Catalog) map[string]string {
	roles := map[string]string{}
	for _, g := range entity.Groups {
		for _, a := range []string{"Created", "Updated", "Deleted"} {
			if t, ok := c.Lookup(g.EventGroup() + "/" + a); ok {
				roles[t.Name] = RoleHistory
			}
		}
	}
	byGroup, inherited := internalTypes(c)
	for _, ts := range byGroup {
		for _, t := range ts {
			roles[t.Name] = RoleInternal
		}
	}
	for _, t := range inherited {
		roles[t.Name] = RoleInherited
	}
	return roles
}
