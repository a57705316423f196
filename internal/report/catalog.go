package report

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/schema"
	"github.com/espfctl/espfctl/internal/term"
)

// CatalogEntry is one event type of the embedded catalog as
// send --list-types shows it.
type CatalogEntry struct {
	SchemaVersion int      `json:"schema_version"`
	Type          string   `json:"type"`
	Group         string   `json:"group"`
	Kind          string   `json:"kind"` // webhook-grouped, webhook-v1, internal
	Variables     []string `json:"variables"`
	Lifecycle     string   `json:"lifecycle,omitempty"` // history, internal or inherited: what --lifecycle sends it as
	Aliases       []string `json:"aliases,omitempty"`
	Inherited     bool     `json:"inherited,omitempty"`
	Triggers      string   `json:"triggers,omitempty"`
}

// Catalog lists c's types in catalog order, with what a lifecycle sends
// each as.
func Catalog(c *event.Catalog) []CatalogEntry {
	roles := event.LifecycleRoles(c)
	var out []CatalogEntry
	for _, t := range c.Types() {
		e := CatalogEntry{SchemaVersion: schema.Version, Type: t.Name, Group: t.Group, Kind: t.Kind, Variables: []string{},
			Lifecycle: roles[t.Name], Aliases: t.Aliases, Inherited: t.Inherited, Triggers: t.Triggers}
		for _, v := range t.Variables {
			e.Variables = append(e.Variables, v.Name)
		}
		out = append(out, e)
	}
	return out
}

// CatalogText is the catalog as a table: type, kind, variables, lifecycle
// role.
func CatalogText(w io.Writer, entries []CatalogEntry, lay term.Layout) error {
	t := lay.Table(w)
	t.Heading("type", "kind", "variables", "lifecycle")
	for _, e := range entries {
		vars, role := strings.Join(e.Variables, ","), e.Lifecycle
		if vars == "" {
			vars = "-"
		}
		if role == "" {
			role = "-"
		}
		t.Row(e.Type, e.Kind, vars, role)
	}
	return t.Flush()
}

// CatalogJSON writes one JSON line per type.
func CatalogJSON(w io.Writer, entries []CatalogEntry) error {
	enc := json.NewEncoder(w)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}
