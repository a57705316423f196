package event

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
)

// Defaults for LifecycleConfig's zero fields.
const (
	DefaultActive     = 10  // entities in progress at once
	DefaultUpdatesMin = 1   // Updated events per entity, at least…
	DefaultUpdatesMax = 3   // …and at most
	DefaultDeleted    = 0.3 // share of histories that end with Deleted
	DefaultInternal   = 0.2 // share of an account's or customer's events that are internal names (contract §8)
	DefaultInherited  = 0.1 // share of customer changes inherited by every account of the customer
)

// LifecycleConfig configures a Lifecycle stream.
type LifecycleConfig struct {
	Groups     []entity.Group // empty = entity.Groups; Invoice needs Customer
	Entities   int64          // distinct entities in all, > 0
	UpdatesMin int            // Updated events per entity, drawn from [UpdatesMin, UpdatesMax]; both 0 = the defaults
	UpdatesMax int            // negative = no Updated at all (0-0)
	Deleted    float64        // share 0..1 of histories that end with Deleted, for groups that have one; negative = none; 0 = DefaultDeleted
	Active     int            // entities whose histories are in progress at once; 0 = DefaultActive
	FirstEvent int64          // 0 = 1
	IDMin      int64          // each group's ids count up from IDMin; 0 = 1000000
	IDMax      int64          // the highest id allowed; 0 = 1999999
	StringIDs  bool
	Seed       int64
	Catalog    *Catalog
	Now        func() time.Time // for event_time; nil = time.Now
	Payload    Payload          // the variables' shape; "" = DefaultPayload
	IEnv       *int64           // the i_env enriched bodies carry; nil = 1
	// Internal is the share (0..1) of an account's or customer's events,
	// after its Created, that are internal event names of three parts
	// from the catalog (Account/AccessPolicy/Changed…), applied to the
	// entity as updates; 0 = DefaultInternal, negative = none.
	Internal float64
	// Inherited is the share (0..1) of customer changes that PortaBilling
	// also sends, as an event "inherited from Customer"
	// (Account/ServiceAttribute/Changed…), to every account of the
	// customer in progress: one burst, sent at once; 0 = DefaultInherited,
	// negative = none. Accounts belong to customers only when both groups
	// are in the stream.
	Inherited float64
}

// Lifecycle is a Source of entity histories: for each entity Created, then
// Updated UpdatesMin to UpdatesMax times, then (for a share Deleted, in
// groups that have it) Deleted, with the histories of Active entities
// interleaved at random. An invoice belongs to a customer whose Created was
// emitted earlier. i_event grows in emission order, the stream is the same
// for the same seed, and memory is bounded by Active, not by Entities.
type Lifecycle struct {
	cfg     LifecycleConfig
	types   map[entity.Group]*groupTypes
	slots   []slot
	started int64
	nextID  map[entity.Group]int64
	seq     int64
	rng     Generator  // only its SplitMix64 state is used
	vals    *Generator // the other variables, as the plain generator fills them

	internal  map[entity.Group][]*Type // the internal names each group draws from
	inherited []*Type                  // the account events inherited from a customer

	alive    []int64       // customers in progress whose Created was emitted, not deleted yet
	aliveIdx map[int64]int // their index in alive
	done     []int64       // a ring of customers whose history ended without Deleted
	doneNext int
}

// groupTypes are a group's three lifecycle types from the catalog.
type groupTypes struct {
	created, updated, deleted *Type // deleted is nil for a group without one (Invoice)
}

type slot struct {
	group   entity.Group
	id      int64
	owner   int64 // an invoice's or an account's customer (0: none)
	created bool  // Created was emitted
	updates int   // Updated events left
	del     bool  // the history ends with Deleted
}

// customerRing bounds how many finished customers an invoice may still
// belong to.
const customerRing = 1024

// NewLifecycle checks cfg and fills in defaults.
func NewLifecycle(cfg LifecycleConfig) (*Lifecycle, error) {
	if cfg.Entities <= 0 {
		return nil, errors.New("lifecycle: entities must be positive")
	}
	if len(cfg.Groups) == 0 {
		cfg.Groups = entity.Groups
	}
	switch {
	case cfg.UpdatesMin == 0 && cfg.UpdatesMax == 0:
		cfg.UpdatesMin, cfg.UpdatesMax = DefaultUpdatesMin, DefaultUpdatesMax
	case cfg.UpdatesMin == 0 && cfg.UpdatesMax < 0:
		cfg.UpdatesMax = 0
	}
	if cfg.UpdatesMin < 0 || cfg.UpdatesMax < cfg.UpdatesMin {
		return nil, fmt.Errorf("lifecycle: updates %d-%d: want 0 <= MIN <= MAX", cfg.UpdatesMin, cfg.UpdatesMax)
	}
	switch {
	case cfg.Deleted == 0:
		cfg.Deleted = DefaultDeleted
	case cfg.Deleted < 0:
		cfg.Deleted = 0
	case cfg.Deleted > 1:
		return nil, fmt.Errorf("lifecycle: deleted share %g: want 0 to 1", cfg.Deleted)
	}
	if cfg.Active <= 0 {
		cfg.Active = DefaultActive
	}
	for _, sh := range []struct {
		v    *float64
		def  float64
		name string
	}{{&cfg.Internal, DefaultInternal, "internal"}, {&cfg.Inherited, DefaultInherited, "inherited"}} {
		switch {
		case *sh.v == 0:
			*sh.v = sh.def
		case *sh.v < 0:
			*sh.v = 0
		case *sh.v > 1:
			return nil, fmt.Errorf("lifecycle: %s share %g: want 0 to 1", sh.name, *sh.v)
		}
	}
	if cfg.FirstEvent <= 0 {
		cfg.FirstEvent = 1
	}
	if err := idRange(&cfg.IDMin, &cfg.IDMax); err != nil {
		return nil, fmt.Errorf("lifecycle: %w", err)
	}
	if room := cfg.IDMax - cfg.IDMin + 1; room < cfg.Entities {
		return nil, fmt.Errorf("lifecycle: the id range %d-%d holds %d ids per group, fewer than the %d entities", cfg.IDMin, cfg.IDMax, room, cfg.Entities)
	}
	if cfg.Catalog == nil {
		cfg.Catalog = Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Lifecycle{cfg: cfg, types: map[entity.Group]*groupTypes{}, nextID: map[entity.Group]int64{},
		aliveIdx: map[int64]int{}, rng: Generator{state: uint64(cfg.Seed)},
		vals: &Generator{cfg: GenConfig{StringIDs: cfg.StringIDs, Now: cfg.Now, IEnv: cfg.IEnv}}}
	cfg.Payload = cfg.Payload.OrDefault()
	l.cfg.Payload = cfg.Payload
	hasCustomer := false
	for _, g := range cfg.Groups {
		if _, dup := l.types[g]; dup {
			return nil, fmt.Errorf("lifecycle: group %s given twice", g.EventGroup())
		}
		gt := &groupTypes{}
		var ok bool
		if gt.created, ok = cfg.Catalog.Lookup(g.EventGroup() + "/Created"); !ok {
			return nil, fmt.Errorf("lifecycle: the catalog has no %s/Created", g.EventGroup())
		}
		if gt.updated, ok = cfg.Catalog.Lookup(g.EventGroup() + "/Updated"); !ok {
			return nil, fmt.Errorf("lifecycle: the catalog has no %s/Updated", g.EventGroup())
		}
		gt.deleted, _ = cfg.Catalog.Lookup(g.EventGroup() + "/Deleted")
		l.types[g] = gt
		l.nextID[g] = cfg.IDMin
		hasCustomer = hasCustomer || g == entity.Customer
	}
	l.internal, l.inherited = internalTypes(cfg.Catalog)
	if _, inv := l.types[entity.Invoice]; inv && !hasCustomer {
		return nil, errors.New("lifecycle: group Invoice needs Customer: an invoice belongs to a customer created earlier in the stream")
	}
	for int64(len(l.slots)) < min(int64(cfg.Active), cfg.Entities) {
		l.slots = append(l.slots, l.start())
	}
	return l, nil
}

// Groups returns the groups the stream draws from.
func (l *Lifecycle) Groups() []entity.Group { return l.cfg.Groups }

// ParseGroups reads entity group names in any case (send --groups), each
// trimmed of spaces.
func ParseGroups(names []string) ([]entity.Group, error) {
	var out []entity.Group
	for _, name := range names {
		g, err := entity.ParseGroup(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// start begins a new entity's history.
func (l *Lifecycle) start() slot {
	l.started++
	g := l.cfg.Groups[l.rng.rand()%uint64(len(l.cfg.Groups))]
	var owner int64
	switch n := len(l.alive) + len(l.done); {
	case g == entity.Invoice && n == 0:
		g = entity.Customer // no customer to belong to yet
	case g == entity.Invoice:
		owner = l.customer(n)
	case g == entity.Subscriber && len(l.alive) > 0:
		// an account belongs to a customer in progress, so that the
		// customer's changes can reach it
		owner = l.alive[l.rng.rand()%uint64(len(l.alive))]
	}
	s := slot{group: g, id: l.nextID[g], owner: owner}
	l.nextID[g]++
	span := uint64(l.cfg.UpdatesMax - l.cfg.UpdatesMin + 1)
	s.updates = l.cfg.UpdatesMin + int(l.rng.rand()%span)
	s.del = l.types[g].deleted != nil && l.rng.float() < l.cfg.Deleted
	return s
}

// customer picks one of the n customers an invoice may belong to: in
// progress, or finished without Deleted.
func (l *Lifecycle) customer(n int) int64 {
	if i := int(l.rng.rand() % uint64(n)); i < len(l.alive) {
		return l.alive[i]
	} else {
		return l.done[i-len(l.alive)]
	}
}

// Next implements Source.
func (l *Lifecycle) Next() (Item, error) {
	if len(l.slots) == 0 {
		return Item{}, io.EOF
	}
	i := int(l.rng.rand() % uint64(len(l.slots)))
	s := &l.slots[i]
	gt := l.types[s.group]
	if names := l.internal[s.group]; s.created && len(names) > 0 && l.rng.float() < l.cfg.Internal {
		// an internal name, between the entity's Created and its end
		it, err := l.item(names[l.rng.rand()%uint64(len(names))], s, false)
		if err != nil {
			return Item{}, err
		}
		it.Internal = true
		return l.inherit(it, s)
	}
	var t *Type
	switch {
	case !s.created:
		t, s.created = gt.created, true
		if s.group == entity.Customer {
			l.aliveIdx[s.id] = len(l.alive)
			l.alive = append(l.alive, s.id)
		}
	case s.updates > 0:
		t = gt.updated
		s.updates--
	default:
		t, s.del = gt.deleted, false
	}
	last := s.updates == 0 && !s.del
	it, err := l.item(t, s, last)
	if err != nil {
		return Item{}, err
	}
	if t == gt.updated {
		if it, err = l.inherit(it, s); err != nil {
			return Item{}, err
		}
	}
	if last {
		if s.group == entity.Customer {
			l.retire(s.id, t == gt.deleted)
		}
		if l.started < l.cfg.Entities {
			*s = l.start()
		} else {
			l.slots[i] = l.slots[len(l.slots)-1]
			l.slots = l.slots[:len(l.slots)-1]
		}
	}
	return it, nil
}

// retire takes a customer whose history ended out of the alive set; one
// that was not deleted may still get invoices.
func (l *Lifecycle) retire(id int64, deleted bool) {
	if j, ok := l.aliveIdx[id]; ok {
		lastID := l.alive[len(l.alive)-1]
		l.alive[j] = lastID
		l.aliveIdx[lastID] = j
		l.alive = l.alive[:len(l.alive)-1]
		delete(l.aliveIdx, id)
	}
	if deleted {
		return
	}
	if len(l.done) < customerRing {
		l.done = append(l.done, id)
		return
	}
	l.done[l.doneNext] = id
	l.doneNext = (l.doneNext + 1) % customerRing
}

func (l *Lifecycle) item(t *Type, s *slot, last bool) (Item, error) {
	seq := l.cfg.FirstEvent + l.seq
	l.seq++
	key := entity.Key{Group: s.group, ID: l.idText(s)}
	vars := map[string]any{"i_event": l.id(seq)}
	for _, v := range t.Variables {
		if l.cfg.Payload == Minimal && !idVariable(v.Name) {
			continue
		}
		switch v.Name {
		case "i_event":
		case s.group.IDVar():
			if s.group == entity.DID {
				vars[v.Name] = key.ID
			} else {
				vars[v.Name] = l.id(s.id)
			}
		case "i_customer": // an invoice's customer
			vars[v.Name] = l.id(s.owner)
		default:
			vars[v.Name] = l.vals.value(v, s.id)
		}
	}
	if _, ok := vars[s.group.IDVar()]; !ok { // a catalog entry without its id: name the entity anyway
		vars[s.group.IDVar()] = l.id(s.id)
	}
	if l.cfg.Payload == Enriched {
		enrich(vars, l.vals.iEnv(), l.cfg.Now())
	}
	body, err := (&Event{Type: t.Name, Variables: vars}).Marshal()
	if err != nil {
		return Item{}, fmt.Errorf("encode event %d: %w", seq, err)
	}
	return Item{IEvent: seq, Type: t.Name, Entity: key.Entity(), Body: body, Last: last}, nil
}

// idText is the entity's id as its Key and Entity string spell it.
func (l *Lifecycle) idText(s *slot) string {
	if s.group == entity.DID {
		return DIDNumber(s.id)
	}
	return strconv.FormatInt(s.id, 10)
}

func (l *Lifecycle) id(n int64) any {
	if l.cfg.StringIDs {
		return strconv.FormatInt(n, 10)
	}
	return n
}

// DIDNumber is the DID number generated for id n: "1555" and its digits.
func DIDNumber(n int64) string { return "1555" + strconv.FormatInt(n, 10) }

// float is a uniform draw from [0, 1).
func (g *Generator) float() float64 { return float64(g.rand()>>11) / (1 << 53) }

// ParseUpdates reads the number of Updated events per entity: "MIN-MAX"
// or one number.
func ParseUpdates(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "-")
	if !isRange {
		b = a
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 0 || hi < lo {
		return 0, 0, fmt.Errorf("%q: want MIN-MAX (e.g. 1-3) or N, with 0 <= MIN <= MAX", s)
	}
	return lo, hi, nil
}

// ParseShare reads a share: "30%" or "0.3", from 0 to 1.
func ParseShare(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if pct {
		v /= 100
	}
	if err != nil || v < 0 || v > 1 || v != v {
		return 0, fmt.Errorf("%q: want a share such as 30%% or 0.3, from 0 to 1", s)
	}
	return v, nil
}
