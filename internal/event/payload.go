package event

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Payload is the shape of the variables a generated event carries
// (contract §8): what newer PortaBilling releases send, or the documented
// example's smallest body.
type Payload string

// Payloads.
const (
	// Enriched carries, besides i_event and the entity's ids, i_env, the
	// emission time as event_time (UTC, "YYYY-MM-DD HH:MM:SS") and every
	// variable the catalog lists for the type, each with a value
	// consistent with the entity (curr_status differs from prev_status).
	Enriched Payload = "enriched"
	// Minimal is the documented example's shape: i_event and the
	// entity's ids only.
	Minimal Payload = "minimal"
)

// DefaultPayload is what send, check and a scenario send when none is given.
const DefaultPayload = Enriched

// EventTimeLayout is event_time's format: UTC, to the second.
const EventTimeLayout = "2006-01-02 15:04:05"

// ParsePayload reads --payload and events.payload; "" is DefaultPayload.
func ParsePayload(s string) (Payload, error) {
	switch p := Payload(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return DefaultPayload, nil
	case Enriched, Minimal:
		return p, nil
	}
	return "", fmt.Errorf("payload %q: want enriched or minimal", s)
}

// OrDefault is p, or DefaultPayload when p is "".
func (p Payload) OrDefault() Payload {
	if p == "" {
		return DefaultPayload
	}
	return p
}

// Of tells which shape a body's variables have: enriched when they carry
// event_time or i_env, minimal otherwise.
func Of(vars map[string]any) Payload {
	_, t := vars["event_time"]
	_, e := vars["i_env"]
	if t || e {
		return Enriched
	}
	return Minimal
}

// idVariable reports whether a catalog variable names an id (i_event, the
// entity's and its owner's ids, a DID number): the variables a minimal
// body keeps.
func idVariable(name string) bool {
	switch name {
	case "i_env":
		return false
	case "number", "billing_entity_id":
		return true
	}
	return strings.HasPrefix(name, "i_")
}

// enrich adds what an enriched body carries on top of the catalog's
// variables: i_env and event_time.
func enrich(vars map[string]any, iEnv any, now time.Time) {
	vars["i_env"] = iEnv
	vars["event_time"] = now.UTC().Format(EventTimeLayout)
}

// statuses are the values a *_status variable takes (NSPS's example shows
// SIM cards going from "active" to "used").
var statuses = []string{"available", "active", "used", "blocked"}

// extraValue is the value of a catalog variable that is not an id, for
// the entity with this id: curr_* differs from prev_*, the same entity
// gets the same values.
func extraValue(name string, id int64) (any, bool) {
	pos := int(uint64(id) % uint64(len(statuses)))
	switch name {
	case "prev_status":
		return statuses[pos], true
	case "curr_status":
		return statuses[(pos+1)%len(statuses)], true
	case "prev_balance":
		return json.Number(strconv.FormatInt(id%1000, 10) + ".00"), true
	case "curr_balance":
		return json.Number(strconv.FormatInt(id%1000+5, 10) + ".00"), true
	}
	return nil, false
}

// ParseVar reads send's --var NAME=VALUE: a VALUE that is JSON (a number,
// a quoted string, true, false, null, an object or an array) is that
// value, numbers kept digit for digit; anything else is a string. So
// --var i_account=1000889 sets a number, --var 'number="0123"' a string.
func ParseVar(s string) (string, any, error) {
	name, raw, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", nil, fmt.Errorf("%q: want NAME=VALUE, e.g. i_account=1000889", s)
	}
	if name == "i_event" {
		return "", nil, fmt.Errorf("%s: i_event numbers the events sent: give --first-event", name)
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil && !dec.More() {
		if _, err := dec.Token(); err != nil { // nothing after the value
			return name, v, nil
		}
	}
	return name, raw, nil
}
