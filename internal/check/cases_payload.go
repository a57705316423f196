package check

import (
	"fmt"
	"net/http"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
)

// Section 8: what newer releases put on the wire.
const payloadSection = "8"

// internalType is an internal event name from the catalog (kind
// internal, three parts): a new ESPF handler is subscribed to it.
const internalType = "Account/AccessPolicy/Changed"

// unknownThreePart is a three-part type in no catalog.
const unknownThreePart = "Espfctl/Check/UnknownThreePart"

// payloadCases are contract §8: the enriched bodies newer releases send,
// internal event names, variables the Application does not know.
func payloadCases() []Case {
	const why8 = "a receiver that fails on it fails on production events: a 5xx or a timeout makes the ESPF re-send the event for ever"
	var cs []Case
	for _, g := range []struct{ name, typ string }{
		{"subscriber", "Subscriber/Created"},
		{"customer", "Customer/Created"},
		{"invoice", "Invoice/Created"},
		{"did", "DID/Created"},
		{"sim-updated", "SIM/Updated"},
	} {
		cs = append(cs, Case{ID: "8/enriched-" + g.name, Section: payloadSection,
			Sends:  g.typ + " as newer releases send it (" + varsOf(g.typ, event.Enriched) + "), correctly signed",
			Passes: "exactly 200",
			Why:    "newer releases put i_env and event_time (and a type's extra variables) in variables; " + why8,
			run:    single(func(r *runner) (shot, error) { return r.shaped(g.typ, event.Enriched, false) }, mustDeliver("every enriched "+g.typ+" event is")),
		})
	}
	cs = append(cs,
		Case{ID: "8/no-event-time", Section: payloadSection,
			Sends:  "an enriched Subscriber/Created without event_time (i_env present), correctly signed",
			Passes: "exactly 200",
			Why:    "event_time is optional: not every event has it; an Application that orders by it must not require it",
			run: single(func(r *runner) (shot, error) {
				return r.edited("Subscriber/Created", func(v map[string]any) { delete(v, "event_time") })
			}, mustDeliver("an event without event_time is")),
		},
		Case{ID: "8/extra-variables", Section: payloadSection,
			Sends:  "a Subscriber/Created with variables no catalog lists (espfctl_extra: a string, an object), correctly signed",
			Passes: "exactly 200; a 4xx warns (a real account event dropped); never a 5xx or a timeout",
			Why:    "each release adds variables; " + why8,
			run: single(func(r *runner) (shot, error) {
				return r.edited("Subscriber/Created", func(v map[string]any) {
					v["espfctl_extra"] = "added by a newer release"
					v["espfctl_extra_object"] = map[string]any{"nested": true}
				})
			}, deliverOrWarn("an event with variables the Application does not know is")),
		},
		Case{ID: "8/internal-type", Section: payloadSection,
			Sends:  "an internal event name from the catalog, " + internalType + ", with i_account, correctly signed",
			Passes: "200, or a 4xx (dropped on purpose); never a 5xx or a timeout",
			Why:    "a new ESPF handler is subscribed to every event its type supports, internal names of three parts included, until an administrator unticks them; " + why8,
			run: single(func(r *runner) (shot, error) { return r.event(internalType, false) },
				tolerate("an internal event is", "fine: the Application has nothing to do with it")),
		},
		Case{ID: "8/unknown-three-part", Section: payloadSection,
			Sends:  "an event type of three parts in no catalog (" + unknownThreePart + "), correctly signed",
			Passes: "200, or a 4xx (dropped on purpose); never a 5xx or a timeout",
			Why:    "70 of the catalog's types have three parts and releases add more; a receiver that splits event_type into exactly two parts crashes on them",
			run: single(func(r *runner) (shot, error) { return r.event(unknownThreePart, false) },
				tolerate("an event type of three parts is", "fine: the Application has nothing to do with it")),
		},
	)
	return cs
}

// edited is an enriched typ whose variables edit changes.
func (r *runner) edited(typ string, edit func(map[string]any)) (shot, error) {
	s, err := r.shaped(typ, event.Enriched, false)
	if err != nil {
		return s, err
	}
	ev, err := event.Decode(s.body)
	if err != nil {
		return s, fmt.Errorf("%s: %w", typ, err)
	}
	edit(ev.Variables)
	if s.body, err = ev.Marshal(); err != nil {
		return s, fmt.Errorf("%s: %w", typ, err)
	}
	return s, nil
}

// deliverOrWarn passes exactly 200, warns on a 4xx (a valid event dropped
// on purpose) and fails anything else (re-sent for ever).
func deliverOrWarn(what string) grader {
	return func(r *runner, a reply) (Grade, string) {
		switch {
		case limited(a):
			return Fail, rateLimited(what)
		case a.outcome() == espf.Delivered:
			return Pass, r.says(a, what)
		case a.outcome() == espf.Dropped && (a.status == http.StatusUnauthorized || a.status == http.StatusForbidden):
			return Fail, r.says(a, what) + " (are these the credentials the Application expects?)"
		case a.outcome() == espf.Dropped:
			return Warn, r.says(a, what) + ": a real event refused for a variable it does not need"
		}
		return Fail, r.says(a, what)
	}
}
