package event

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
)

// Item is one event ready to send: its body is built once and re-sent byte
// for byte on every retry and duplicate.
type Item struct {
	IEvent int64
	Type   string
	Entity string // "i_account=1000889", for reports and the ESPF API mock
	Body   []byte
	// Last marks the last event of its entity's history in a lifecycle
	// stream, so whoever follows the entity can forget it once it is done.
	Last bool
	// Internal marks an internal event name of a lifecycle (contract §8).
	Internal bool
	// Burst names the customer ("customer/1000003") whose change this
	// event is, or is inherited from, when the change reached its accounts
	// as a burst (contract §8).
	Burst string
	// With are events queued together with this one (a customer change's
	// inherited account events): the sender sends them at once, right
	// after it, at the same intended time.
	With []Item
}

// Source yields events in order; Next returns io.EOF when there are no more.
// A Source is used from one goroutine.
type Source interface {
	Next() (Item, error)
}

// Weighted is one entry of a --mix: an event type and its relative weight.
type Weighted struct {
	Type   string
	Weight int
}

// ParseMix reads "Subscriber/Created=5,Customer/Updated=1"; a missing
// weight is 1.
func ParseMix(s string) ([]Weighted, error) {
	var out []Weighted
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, hasW := strings.Cut(part, "=")
		wt := 1
		if hasW {
			n, err := strconv.Atoi(strings.TrimSpace(w))
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("mix %q: weight %q: want a positive integer", part, w)
			}
			wt = n
		}
		if g, a, ok := strings.Cut(strings.TrimSpace(name), "/"); !ok || g == "" || a == "" {
			return nil, fmt.Errorf("mix %q: event type %q: want Group/Action", part, name)
		}
		out = append(out, Weighted{Type: strings.TrimSpace(name), Weight: wt})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("mix %q: no event types", s)
	}
	return out, nil
}

// GenConfig configures a Generator. The zero value sends Subscriber/Created
// events with i_event 1, 2, 3… and entity ids from 1000000 to 1999999.
type GenConfig struct {
	Types      []Weighted // empty = Subscriber/Created
	FirstEvent int64      // 0 = 1
	IDMin      int64      // entity ids (i_account, i_customer…) are drawn from [IDMin, IDMax]
	IDMax      int64
	StringIDs  bool           // send i_* variables as strings of digits, as one documentation page shows
	Seed       int64          // the same seed gives the same ids
	IEnv       *int64         // the i_env of enriched bodies and of types that carry one: the bearer token's claim; nil = 1
	Payload    Payload        // the variables' shape; "" = DefaultPayload
	Vars       map[string]any // set in every event, over the generated values (send --var)
	Count      int64          // stop after this many; 0 = never
	Catalog    *Catalog
	Now        func() time.Time // for event_time; nil = time.Now
}

// Generator makes events from the catalog: for each type, the variables
// the catalog lists, with i_event unique and increasing.
type Generator struct {
	cfg   GenConfig
	total int
	n     int64
	state uint64
}

// DefaultType is what send generates when no type is given.
const DefaultType = "Subscriber/Created"

// DefaultIDMin and DefaultIDMax are the entity id range when none is
// given (send --ids, the lifecycle's id range).
const DefaultIDMin, DefaultIDMax = 1000000, 1999999

// idRange fills in the default entity id range when both ends are 0, and
// checks it.
func idRange(lo, hi *int64) error {
	if *lo == 0 && *hi == 0 {
		*lo, *hi = DefaultIDMin, DefaultIDMax
	}
	if *lo < 0 || *hi < *lo {
		return fmt.Errorf("entity id range %d-%d: want 0 <= min <= max", *lo, *hi)
	}
	return nil
}

// NewGenerator checks cfg and fills in defaults.
func NewGenerator(cfg GenConfig) (*Generator, error) {
	if len(cfg.Types) == 0 {
		cfg.Types = []Weighted{{Type: DefaultType, Weight: 1}}
	}
	if cfg.FirstEvent <= 0 {
		cfg.FirstEvent = 1
	}
	if err := idRange(&cfg.IDMin, &cfg.IDMax); err != nil {
		return nil, err
	}
	if cfg.Catalog == nil {
		cfg.Catalog = Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Generator{cfg: cfg, state: uint64(cfg.Seed)}
	for _, w := range cfg.Types {
		g.total += w.Weight
	}
	return g, nil
}

// Next implements Source.
func (g *Generator) Next() (Item, error) {
	if g.cfg.Count > 0 && g.n >= g.cfg.Count {
		return Item{}, io.EOF
	}
	seq := g.cfg.FirstEvent + g.n
	g.n++
	typ := g.pick()
	id := g.cfg.IDMin + int64(g.rand()%uint64(g.cfg.IDMax-g.cfg.IDMin+1))
	payload := g.cfg.Payload.OrDefault()
	vars := map[string]any{"i_event": g.id(seq)}
	if t, ok := g.cfg.Catalog.Lookup(typ); ok {
		for _, v := range t.Variables {
			if v.Name == "i_event" || (payload == Minimal && !idVariable(v.Name)) {
				continue
			}
			vars[v.Name] = g.value(v, id)
		}
	}
	if len(vars) == 1 { // an unknown type, or one whose variables are undocumented, still names an entity
		name := "i_account"
		if grp, _, ok := entity.Classify(typ); ok {
			name = grp.IDVar()
		}
		vars[name] = g.value(Variable{Name: name, Type: "int"}, id)
	}
	if payload == Enriched {
		enrich(vars, g.iEnv(), g.cfg.Now())
	}
	for k, v := range g.cfg.Vars {
		vars[k] = v
	}
	ev := Event{Type: typ, Variables: vars}
	body, err := ev.Marshal()
	if err != nil {
		return Item{}, fmt.Errorf("encode event %d: %w", seq, err)
	}
	return Item{IEvent: seq, Type: typ, Entity: ev.Entity(), Body: body}, nil
}

// iEnv is the i_env a body carries: the configured one, or 1.
func (g *Generator) iEnv() any {
	if g.cfg.IEnv != nil {
		return g.id(*g.cfg.IEnv)
	}
	return g.id(1)
}

func (g *Generator) value(v Variable, id int64) any {
	if x, ok := extraValue(v.Name, id); ok {
		return x
	}
	switch {
	case v.Name == "i_env":
		return g.iEnv()
	case v.Name == "number":
		return "1555" + strconv.FormatInt(id, 10)
	case v.Name == "event_time":
		return g.cfg.Now().UTC().Format(EventTimeLayout)
	case strings.HasSuffix(v.Name, "_status"):
		return "open"
	case v.Kind() == "int":
		return g.id(id)
	case v.Kind() == "number":
		return json.Number("0")
	}
	return strconv.FormatInt(id, 10)
}

func (g *Generator) id(n int64) any {
	if g.cfg.StringIDs {
		return strconv.FormatInt(n, 10)
	}
	return n
}

func (g *Generator) pick() string {
	if len(g.cfg.Types) == 1 {
		return g.cfg.Types[0].Type
	}
	r := int(g.rand() % uint64(g.total))
	for _, w := range g.cfg.Types {
		if r < w.Weight {
			return w.Type
		}
		r -= w.Weight
	}
	return g.cfg.Types[len(g.cfg.Types)-1].Type
}

// rand is SplitMix64: reproducible from the seed, no shared state.
func (g *Generator) rand() uint64 {
	g.state += 0x9e3779b97f4a7c15
	z := g.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
