package event

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/espfctl/espfctl/internal/term"
	"gopkg.in/yaml.v3"
)

//go:embed event-types.yaml
var catalogYAML []byte

// Variable is one documented variable of an event type.
type Variable struct {
	Name      string `yaml:"name" json:"name"`
	Type      string `yaml:"type" json:"type"`                     // int, string, number, … as documented (may say "(assumed)")
	Mandatory *bool  `yaml:"mandatory" json:"mandatory,omitempty"` // nil = not documented
}

// Kind returns the variable's base type: "int", "string" or "number".
func (v Variable) Kind() string {
	t, _, _ := strings.Cut(v.Type, " ")
	return t
}

// Type is one entry of the catalog (shared/espf/event-types.yaml, embedded).
type Type struct {
	Name      string     `yaml:"type" json:"type"`
	Group     string     `yaml:"group" json:"group"`
	Variables []Variable `yaml:"variables" json:"variables"`
	Kind      string     `yaml:"kind" json:"kind"` // webhook-grouped, webhook-v1, internal
	Releases  []string   `yaml:"releases" json:"releases,omitempty"`
	Source    []string   `yaml:"source" json:"source,omitempty"`
	Notes     string     `yaml:"notes" json:"notes,omitempty"`
	Aliases   []string   `yaml:"aliases" json:"aliases,omitempty"`     // older names of the same event (MR115's renames)
	Inherited bool       `yaml:"inherited" json:"inherited,omitempty"` // "inherited from Customer": one event per account of the customer
	Triggers  string     `yaml:"triggers" json:"triggers,omitempty"`   // what makes PortaBilling send it
}

// Required lists the variables documented as mandatory.
func (t *Type) Required() []Variable {
	var out []Variable
	for _, v := range t.Variables {
		if v.Mandatory != nil && *v.Mandatory {
			out = append(out, v)
		}
	}
	return out
}

// Catalog is the set of known event types.
type Catalog struct {
	types  []*Type
	byName map[string]*Type
}

var loadCatalog = sync.OnceValues(func() (*Catalog, error) {
	var types []*Type
	if err := yaml.Unmarshal(catalogYAML, &types); err != nil {
		return nil, fmt.Errorf("embedded event catalog: %w", err)
	}
	c := &Catalog{types: types, byName: make(map[string]*Type, len(types))}
	for _, t := range types {
		c.byName[t.Name] = t
	}
	return c, nil
})

// Default returns the embedded catalog. It panics only if the embedded file
// is broken, which a test rules out.
func Default() *Catalog {
	c, err := loadCatalog()
	if err != nil {
		panic(err)
	}
	return c
}

// Lookup finds an event type by its exact name.
func (c *Catalog) Lookup(name string) (*Type, bool) {
	t, ok := c.byName[name]
	return t, ok
}

// Types returns every type in catalog order.
func (c *Catalog) Types() []*Type { return c.types }

// Names returns every type name, sorted.
func (c *Catalog) Names() []string {
	out := make([]string, 0, len(c.types))
	for _, t := range c.types {
		out = append(out, t.Name)
	}
	sort.Strings(out)
	return out
}

// Suggest returns up to three known names close to name (same group first),
// for "unknown event type" messages.
func (c *Catalog) Suggest(name string) []string {
	group, _, _ := strings.Cut(name, "/")
	var out []string
	for _, t := range c.types {
		if strings.EqualFold(t.Name, name) || (strings.EqualFold(t.Group, group) && t.Kind != "internal") {
			out = append(out, t.Name)
		}
		if len(out) == 3 {
			break
		}
	}
	return out
}

// DidYouMean returns the known names a mistyped name most likely meant:
// the closest by edit distance (case-insensitive) when one is close enough,
// else up to three of the same group (Suggest). Nil when nothing is close.
func (c *Catalog) DidYouMean(name string) []string {
	if best := Closest(name, c.Names()); best != "" {
		return []string{best}
	}
	return c.Suggest(name)
}

// Closest returns the candidate nearest to s by edit distance
// (case-insensitive), if it is close enough to be a likely typo, else "".
// Type names here and scenario keys both use it.
func Closest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if d := term.EditDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
