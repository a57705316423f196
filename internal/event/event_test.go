package event

import (
	"errors"
	"testing"
)

func TestCatalogLoads(t *testing.T) {
	c := Default()
	if got := len(c.Types()); got != 111 {
		t.Errorf("catalog has %d types, want 111", got)
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
