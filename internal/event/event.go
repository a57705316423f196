// Package event is the ESPF event: its JSON body, its i_event id, and the
// embedded catalog of event types and their variables.
package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/espfctl/espfctl/internal/entity"
)

// Event is the body the ESPF POSTs: {"event_type": "...", "variables": {...}}.
type Event struct {
	Type      string         `json:"event_type"`
	Variables map[string]any `json:"variables"`
	// RawVariables is the variables object as received (set by Decode), for
	// receivers that store it without encoding it again.
	RawVariables json.RawMessage `json:"-"`
}

// Sentinel errors for Decode; the wrapping message says which field.
var (
	ErrBody    = errors.New("invalid event body")
	ErrIEvent  = errors.New("invalid i_event")
	ErrNoEvent = errors.New("missing i_event")
)

// Decode parses and validates a delivery body: a JSON object with a string
// event_type of the form Group/Action and an object variables whose i_event
// is an integer or a string of digits. Numbers are kept as json.Number, so
// re-encoding gives the same digits.
func Decode(body []byte) (*Event, error) {
	var raw struct {
		Type      *json.RawMessage `json:"event_type"`
		Variables *json.RawMessage `json:"variables"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrBody, err)
	}
	if raw.Type == nil {
		return nil, fmt.Errorf("%w: no event_type", ErrBody)
	}
	var ev Event
	if err := json.Unmarshal(*raw.Type, &ev.Type); err != nil {
		return nil, fmt.Errorf("%w: event_type is %s, want a string", ErrBody, short(*raw.Type))
	}
	if g, a, ok := strings.Cut(ev.Type, "/"); !ok || g == "" || a == "" {
		return nil, fmt.Errorf("%w: event_type %q, want Group/Action such as Subscriber/Created", ErrBody, ev.Type)
	}
	if raw.Variables == nil {
		return nil, fmt.Errorf("%w: no variables", ErrBody)
	}
	dec := json.NewDecoder(bytes.NewReader(*raw.Variables))
	dec.UseNumber()
	if err := dec.Decode(&ev.Variables); err != nil || ev.Variables == nil {
		return nil, fmt.Errorf("%w: variables is %s, want an object", ErrBody, short(*raw.Variables))
	}
	if _, err := ev.IEvent(); err != nil {
		return nil, err
	}
	ev.RawVariables = *raw.Variables
	return &ev, nil
}

// IEvent returns variables.i_event, accepting an integer or a string of digits.
func (e *Event) IEvent() (int64, error) {
	v, ok := e.Variables["i_event"]
	if !ok {
		return 0, ErrNoEvent
	}
	n, err := ID(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrIEvent, err)
	}
	return n, nil
}

// ID reads an i_* variable: an integer, or a string of digits (one
// documentation page shows ids as strings).
func ID(v any) (int64, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case float64:
		if x != float64(int64(x)) {
			return 0, fmt.Errorf("%v is not an integer", x)
		}
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case string:
		if x == "" || strings.TrimLeft(x, "0123456789") != "" {
			return 0, fmt.Errorf("%q is not a string of digits", x)
		}
		s = x
	default:
		return 0, fmt.Errorf("%v is a %T, want an integer or a string of digits", v, v)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s is not a non-negative 64-bit integer", s)
	}
	return n, nil
}

// EntityKeys are the variables that name the entity an event is about, in
// the order Entity looks for them.
var EntityKeys = []string{"i_account", "i_customer", "i_invoice", "number", "billing_entity_id", "i_did"}

// Entity names the entity an event is about, for logs: "i_account=1000889",
// "number=15551234", or "" when none of the usual variables is present.
func (e *Event) Entity() string {
	// The entity of an event about one of the modelled groups is named by
	// the group's own id: an Invoice event names its i_invoice, not the
	// i_customer it belongs to.
	if g, _, ok := entity.Classify(e.Type); ok {
		if v, ok := e.Variables[g.IDVar()]; ok {
			return fmt.Sprintf("%s=%v", g.IDVar(), v)
		}
	}
	for _, k := range EntityKeys {
		if v, ok := e.Variables[k]; ok {
			return fmt.Sprintf("%s=%v", k, v)
		}
	}
	return ""
}

// Missing lists the catalog's mandatory variables that the event lacks;
// known is false when the catalog does not have the type.
func (e *Event) Missing(c *Catalog) (missing []string, known bool) {
	t, ok := c.Lookup(e.Type)
	if !ok {
		return nil, false
	}
	for _, v := range t.Required() {
		if _, ok := e.Variables[v.Name]; !ok {
			missing = append(missing, v.Name)
		}
	}
	return missing, true
}

// Marshal encodes the event as the ESPF sends it: event_type first, then
// variables with i_event and the entity ids (keys sorted, as encoding/json does).
func (e *Event) Marshal() ([]byte, error) { return json.Marshal(e) }

func short(b []byte) string {
	s := string(b)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}
