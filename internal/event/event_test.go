package event

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestCatalogLoads: every entry of the embedded catalog loads (however
// many there are), under a unique name in its group, with a known kind and
// variables of a known type, and is found by that name.
func TestCatalogLoads(t *testing.T) {
	c := Default()
	var entries []map[string]any // the file as YAML, not as the catalog reads it
	if err := yaml.Unmarshal(catalogYAML, &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 || len(c.Types()) != len(entries) {
		t.Fatalf("catalog has %d types, the embedded file %d entries: want every entry", len(c.Types()), len(entries))
	}
	kinds := []string{"webhook-grouped", "webhook-v1", "internal"}
	for i, ty := range c.Types() {
		if ty.Name != entries[i]["type"] || ty.Group == "" || !strings.HasPrefix(ty.Name, ty.Group+"/") || !slices.Contains(kinds, ty.Kind) {
			t.Errorf("type %d %q: group %q, kind %q; want the file's name, in its group, of a known kind", i, ty.Name, ty.Group, ty.Kind)
		}
		if got, ok := c.Lookup(ty.Name); !ok || got != ty {
			t.Errorf("Lookup(%q) does not find it", ty.Name)
		}
		for _, v := range ty.Variables {
			if v.Name == "" || !slices.Contains([]string{"int", "string", "number"}, v.Kind()) {
				t.Errorf("%s: variable %+v: want a name and a known type", ty.Name, v)
			}
		}
	}
	if names := c.Names(); len(names) != len(entries) || !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("Names() = %d names, want every type once, sorted", len(names))
	}
	st, ok := c.Lookup("Subscriber/Created")
	if !ok {
		t.Fatal("Subscriber/Created not in catalog")
	}
	var names []string
	for _, v := range st.Required() {
		names = append(names, v.Name)
	}
	if len(names) != 2 || names[0] != "i_account" || names[1] != "i_event" {
		t.Errorf("Subscriber/Created required = %v, want [i_account i_event]", names)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    int64
		wantErr error
	}{
		{"documented example", `{"event_type": "Subscriber/Created", "variables": {"i_account": 1000889, "i_event": 7615}}`, 7615, nil},
		{"string ids", `{"event_type":"Customer/Updated","variables":{"i_customer":"5","i_event":"5"}}`, 5, nil},
		{"unknown type is fine", `{"event_type":"Foo/Bar","variables":{"i_event":1}}`, 1, nil},
		{"not json", `{`, 0, ErrBody},
		{"array", `[]`, 0, ErrBody},
		{"no type", `{"variables":{"i_event":1}}`, 0, ErrBody},
		{"type not string", `{"event_type":5,"variables":{"i_event":1}}`, 0, ErrBody},
		{"type without slash", `{"event_type":"Created","variables":{"i_event":1}}`, 0, ErrBody},
		{"no variables", `{"event_type":"A/B"}`, 0, ErrBody},
		{"variables not object", `{"event_type":"A/B","variables":[1]}`, 0, ErrBody},
		{"no i_event", `{"event_type":"A/B","variables":{"i_account":1}}`, 0, ErrNoEvent},
		{"float i_event", `{"event_type":"A/B","variables":{"i_event":1.5}}`, 0, ErrIEvent},
		{"negative i_event", `{"event_type":"A/B","variables":{"i_event":-1}}`, 0, ErrIEvent},
		{"letters", `{"event_type":"A/B","variables":{"i_event":"12a"}}`, 0, ErrIEvent},
		{"bool", `{"event_type":"A/B","variables":{"i_event":true}}`, 0, ErrIEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Decode([]byte(tt.body))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decode(%s) error = %v, want %v", tt.body, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got, _ := ev.IEvent(); got != tt.want {
				t.Errorf("IEvent() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	ev, err := Decode([]byte(`{"event_type":"Invoice/Created","variables":{"i_event":3,"i_invoice":9}}`))
	if err != nil {
		t.Fatal(err)
	}
	missing, known := ev.Missing(Default())
	if !known || len(missing) != 1 || missing[0] != "i_customer" {
		t.Errorf("Missing() = %v, %t; want [i_customer], true", missing, known)
	}
}
