// Package entity is the one model of a PortaBilling entity that ESPF events
// are about (contract.md §6–§7): which entity an event names, what it does
// to it, and the entity's state after a set of events with design (b) of
// §7 — an event is applied only if its i_event is greater than the last one
// applied, and a deleted entity keeps a tombstone. The lifecycle generator,
// the PortaBilling API mock, serve, the final-state check and check all use
// it; it imports nothing of espfctl.
package entity

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Group is one of the four entity groups whose histories espfctl models.
// Its value is the lower-case name used in URLs ({group} of --state-url)
// and JSON.
type Group string

// The groups, in their default order.
const (
	Subscriber Group = "subscriber" // an account: i_account
	Customer   Group = "customer"   // i_customer
	Invoice    Group = "invoice"    // i_invoice (and the i_customer it belongs to)
	DID        Group = "did"        // a DID number: number (a string)
)

// Groups lists every group in the default order of `send --groups`.
var Groups = []Group{Subscriber, Customer, Invoice, DID}

// ParseGroup reads a group name in any case: "Subscriber", "subscriber",
// "DID".
func ParseGroup(s string) (Group, error) {
	for _, g := range Groups {
		if strings.EqualFold(s, string(g)) {
			return g, nil
		}
	}
	return "", fmt.Errorf("group %q: want one of Subscriber, Customer, Invoice, DID", s)
}

// EventGroup is the group as event types spell it: "Subscriber",
// "Customer", "Invoice", "DID".
func (g Group) EventGroup() string {
	switch g {
	case Subscriber:
		return "Subscriber"
	case Customer:
		return "Customer"
	case Invoice:
		return "Invoice"
	case DID:
		return "DID"
	}
	return string(g)
}

// IDVar is the variable that names an entity of the group.
func (g Group) IDVar() string {
	switch g {
	case Subscriber:
		return "i_account"
	case Customer:
		return "i_customer"
	case Invoice:
		return "i_invoice"
	case DID:
		return "number"
	}
	return ""
}

// Key names one entity: its group and its id (the decimal digits of
// i_account, i_customer or i_invoice, or the DID number).
type Key struct {
	Group Group
	ID    string
}

// String is "subscriber/1000889", the form of reports and of
// `GET /state/{group}/{id}`.
func (k Key) String() string { return string(k.Group) + "/" + k.ID }

// Entity is the "var=value" form that event items and attempt records
// carry: "i_account=1000889".
func (k Key) Entity() string { return k.Group.IDVar() + "=" + k.ID }

// ParseKey reads "subscriber/1000889".
func ParseKey(s string) (Key, error) {
	g, id, ok := strings.Cut(s, "/")
	grp, err := ParseGroup(g)
	if !ok || err != nil || id == "" {
		return Key{}, fmt.Errorf("entity %q: want GROUP/ID, e.g. subscriber/1000889", s)
	}
	return Key{Group: grp, ID: id}, nil
}

// Action is what an event does to its entity.
type Action uint8

// Actions. Other is any event about the entity that is not part of its
// lifecycle (Account/Blocked, Customer/Status/Changed…): it does not change
// whether the entity exists, and the model does not apply it.
const (
	Other Action = iota
	Created
	Updated
	Deleted
)

// String is the action as event types spell it.
func (a Action) String() string {
	switch a {
	case Created:
		return "Created"
	case Updated:
		return "Updated"
	case Deleted:
		return "Deleted"
	}
	return "Other"
}

// Lifecycle reports whether the action is part of an entity's history
// (Created, Updated, Deleted).
func (a Action) Lifecycle() bool { return a != Other }

// Classify names the group an event type is about and what it does: the
// type's first segment picks the group (Subscriber and Account are the
// account, Customer, Invoice, DID), and a two-segment type whose action is
// Created (or New), Updated or Deleted is a lifecycle action. An internal
// event name of three parts or more (Account/AccessPolicy/Changed,
// Customer/Status/Suspended: contract §8) changes the entity, so it is an
// Updated; but Status/Closed, which closes it, is left out of the model
// (Other). ok is false for types about none of the four groups
// (SIM/Updated, PaymentTransaction/New…).
func Classify(eventType string) (g Group, a Action, ok bool) {
	head, rest, _ := strings.Cut(eventType, "/")
	switch head {
	case "Subscriber", "Account":
		g = Subscriber
	case "Customer":
		g = Customer
	case "Invoice":
		g = Invoice
	case "DID":
		g = DID
	default:
		return "", Other, false
	}
	switch {
	case rest == "Created" || rest == "New":
		a = Created
	case rest == "Updated":
		a = Updated
	case rest == "Deleted":
		a = Deleted
	case strings.Contains(rest, "/") && rest != "Status/Closed":
		a = Updated
	}
	return g, a, true
}

// Of names the entity an event is about, from its type and variables: ok is
// false when the type is about none of the four groups or the variables do
// not name the entity.
func Of(eventType string, vars map[string]any) (Key, Action, bool) {
	g, a, ok := Classify(eventType)
	if !ok {
		return Key{}, Other, false
	}
	id, ok := idString(vars[g.IDVar()])
	if !ok {
		return Key{}, Other, false
	}
	return Key{Group: g, ID: id}, a, true
}

// FromEntity names the entity from an event type and the "var=value"
// string of an event item or attempt record ("i_account=1000889").
func FromEntity(eventType, entity string) (Key, Action, bool) {
	g, a, ok := Classify(eventType)
	if !ok {
		return Key{}, Other, false
	}
	name, id, found := strings.Cut(entity, "=")
	if !found || name != g.IDVar() || id == "" {
		return Key{}, Other, false
	}
	return Key{Group: g, ID: id}, a, true
}

// idString is an id variable's value as text: the digits of an integer (or
// of a string of digits), or the string itself (a DID number).
func idString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case json.Number:
		return x.String(), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10), true
		}
	}
	return "", false
}

// State is what an Application that follows design (b) holds for one
// entity: the last event it applied, and whether the entity exists. A
// deleted entity keeps its State (a tombstone), so an older event arriving
// later is not applied.
type State struct {
	IEvent int64 `json:"i_event,omitempty"` // the last event applied; 0 = none
	Exists bool  `json:"exists"`
}

// Apply applies one lifecycle event if it is newer than the last one
// applied, and reports whether it did. Created and Updated make the entity
// exist (an Updated that overtook its Created shows an entity PortaBilling
// already has); Deleted leaves a tombstone. Other actions are not part of
// the model and are never applied. Because only the greatest i_event
// counts, the result does not depend on the order events are applied in.
func (s *State) Apply(a Action, iEvent int64) bool {
	if !a.Lifecycle() || iEvent <= s.IEvent {
		return false
	}
	s.IEvent = iEvent
	s.Exists = a != Deleted
	return true
}

// Tombstone reports whether the entity was deleted.
func (s State) Tombstone() bool { return !s.Exists && s.IEvent > 0 }

// Words is the state for people: "existing (i_event 23)", "deleted
// (i_event 41)", "absent".
func (s State) Words() string {
	switch {
	case s.Exists:
		return fmt.Sprintf("existing (i_event %d)", s.IEvent)
	case s.IEvent > 0:
		return fmt.Sprintf("deleted (i_event %d)", s.IEvent)
	}
	return "absent"
}
