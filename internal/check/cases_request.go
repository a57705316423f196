package check

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
)

// unknownType is not in the catalog, and never will be.
const unknownType = "Espfctl/CheckUnknownType"

// requestCases are contract §1: what the ESPF sends, over what.
func requestCases() []Case {
	cs := transportCases()
	for _, g := range []struct{ name, typ, why string }{
		{"subscriber", "Subscriber/Created", "the account events are the ones every Application handles"},
		{"customer", "Customer/Created", "an Application written for accounts alone often crashes on the first customer event"},
		{"invoice", "Invoice/Created", "invoice events carry i_invoice and no i_account"},
		{"did", "DID/Created", "DID events name the number as a string, not an i_* id"},
		{"sim-updated", "SIM/Updated", "newer releases add groups (SIM, Accessibility…); each is delivered like the documented ones"},
	} {
		cs = append(cs, Case{ID: "1/" + g.name, Section: "1",
			Sends:  g.typ + " in the documented example's shape (its ids: " + idVars(g.typ) + "), correctly signed",
			Passes: "exactly 200",
			Why:    "any other answer loses the event (4xx: dropped) or re-sends it for ever (5xx, 201, 204…); " + g.why,
			run:    single(func(r *runner) (shot, error) { return r.shaped(g.typ, event.Minimal, false) }, mustDeliver("every "+g.typ+" event is")),
			gate:   g.typ == "Subscriber/Created",
		})
	}
	cs = append(cs,
		Case{ID: "1/string-ids", Section: "1",
			Sends:  `Subscriber/Created with i_event and i_account as strings of digits ("i_event": "<n>")`,
			Passes: "exactly 200",
			Why:    "one documentation page shows the ids as JSON strings: a receiver must accept both forms",
			run:    single(func(r *runner) (shot, error) { return r.event("Subscriber/Created", true) }, mustDeliver("an event with string ids is")),
		},
		Case{ID: "1/unknown-type", Section: "1",
			Sends:  "an event type in no catalog (" + unknownType + "), correctly signed",
			Passes: "200, or a 4xx (dropped on purpose); never a 5xx or a timeout",
			Why:    "PortaBilling adds event types in new releases; a crash on one makes the ESPF re-send it for ever",
			run: single(func(r *runner) (shot, error) { return r.event(unknownType, false) },
				tolerate("an event of an unknown type is", "fine: the Application has nothing to do with it")),
		},
	)
	return append(cs, bodyCases()...)
}

// idVars names the variables typ's documented-shape body carries.
func idVars(typ string) string { return varsOf(typ, event.Minimal) }

// varsOf names the variables of typ's body in payload p, as the
// generator fills them.
func varsOf(typ string, p event.Payload) string {
	g, err := event.NewGenerator(event.GenConfig{Types: []event.Weighted{{Type: typ, Weight: 1}}, Payload: p, Count: 1})
	if err != nil {
		return "i_account, i_event"
	}
	it, err := g.Next()
	if err != nil {
		return "i_account, i_event"
	}
	ev, err := event.Decode(it.Body)
	if err != nil {
		return "i_account, i_event"
	}
	return strings.Join(slices.Sorted(maps.Keys(ev.Variables)), ", ")
}

// event is a correctly signed typ with its catalog variables, in the
// run's payload (--payload), a fresh i_event and the same number as entity
// id.
func (r *runner) event(typ string, stringIDs bool) (shot, error) {
	return r.shaped(typ, r.cfg.Payload, stringIDs)
}

// shaped is event in the given payload, whatever the run's.
func (r *runner) shaped(typ string, p event.Payload, stringIDs bool) (shot, error) {
	id := r.ids(1)
	body, err := r.generateAs(typ, p, id, id, stringIDs)
	return shot{ievent: id, body: body, cred: r.creds.right, valid: typ == "Subscriber/Created" && !stringIDs}, err
}

// generate is typ with its catalog variables, as send generates it.
func (r *runner) generate(typ string, ievent, entity int64, stringIDs bool) ([]byte, error) {
	return r.generateAs(typ, r.cfg.Payload, ievent, entity, stringIDs)
}

// generateAs is generate in the given payload.
func (r *runner) generateAs(typ string, p event.Payload, ievent, entity int64, stringIDs bool) ([]byte, error) {
	g, err := event.NewGenerator(event.GenConfig{Types: []event.Weighted{{Type: typ, Weight: 1}},
		FirstEvent: ievent, IDMin: entity, IDMax: entity, StringIDs: stringIDs, Count: 1, Now: r.cfg.Now,
		Payload: p, IEnv: r.cfg.Creds.IEnv})
	if err != nil {
		return nil, err
	}
	it, err := g.Next()
	if err != nil {
		return nil, err
	}
	return it.Body, nil
}

// single is a case that sends one request and grades its answer.
func single(build func(r *runner) (shot, error), g grader) func(context.Context, *runner) (verdict, error) {
	return func(ctx context.Context, r *runner) (verdict, error) {
		s, err := build(r)
		if err != nil {
			return verdict{}, err
		}
		r.cur.IEvent = s.ievent
		a, err := r.send(ctx, s)
		if err != nil {
			return verdict{}, err
		}
		r.answer(r.cur, a)
		grade, msg := g(r, a)
		return verdict{grade: grade, msg: msg, repro: replay(s)}, nil
	}
}

// bodyCases send what a broken sender or a proxy could send, each followed
// by a valid event: an Application that died of it fails the case that
// killed it.
func bodyCases() []Case {
	const why = "4xx drops it for good, which is right for an event that can never be processed; 200 makes a corrupt event vanish without trace; a 5xx or a crash makes the ESPF re-send it for ever"
	reject := mustReject("the ESPF counts the corrupt event as delivered, and it vanishes without trace")
	raw := func(format string) func(r *runner, id int64) shot {
		return func(r *runner, id int64) shot {
			return shot{ievent: id, body: fmt.Appendf(nil, format, id), cred: r.creds.right}
		}
	}
	cs := []Case{
		{ID: "1/not-json", Sends: "a body that is not JSON (cut short), correctly signed",
			run: probed(raw(`{"event_type":"Subscriber/Created","variables":{"i_event":%d,`), reject)},
		{ID: "1/no-event-type", Sends: "a JSON body without event_type, correctly signed",
			run: probed(raw(`{"variables":{"i_account":%[1]d,"i_event":%[1]d}}`), reject)},
		{ID: "1/variables-not-object", Sends: "variables as a string instead of an object, correctly signed",
			run: probed(raw(`{"event_type":"Subscriber/Created","variables":"i_event=%d"}`), reject)},
		{ID: "1/no-i-event", Sends: "a Subscriber/Created without variables.i_event, correctly signed",
			run: probed(raw(`{"event_type":"Subscriber/Created","variables":{"i_account":%d}}`),
				mustReject("an event without i_event cannot be de-duplicated, and the ESPF counts it as delivered"))},
		{ID: "1/i-event-not-number", Sends: `a Subscriber/Created whose i_event is not a number ("i_event": "x<n>"), correctly signed`,
			run: probed(raw(`{"event_type":"Subscriber/Created","variables":{"i_account":%[1]d,"i_event":"x%[1]d"}}`), reject)},
	}
	for i := range cs {
		cs[i].Section, cs[i].Passes, cs[i].Why = "1", "a 4xx (400); 200 warns; and a valid event right after it is answered 200", why
	}
	return append(cs, Case{ID: "1/over-1mib", Section: "1",
		Sends:  "a valid Subscriber/Created padded to 1 MiB + 1 byte, correctly signed",
		Passes: "413; another 4xx or 200 warns; and a valid event right after it is answered 200",
		Why:    "an Application must bound what it reads: a body it cannot hold must be refused (413, dropped), not crash the process (re-sent, and it crashes it again on every re-send)",
		run:    probed(big, bigGrade),
	})
}

// big is a valid event padded past BodyLimit with a variable of x's.
func big(r *runner, id int64) shot {
	head := `{"event_type":"Subscriber/Created","variables":{"espfctl_padding":"`
	tail := fmt.Sprintf(`","i_account":%d,"i_event":%d}}`, id, id)
	pad := BodyLimit + 1 - len(head) - len(tail)
	body := make([]byte, 0, BodyLimit+1)
	body = append(body, head...)
	body = append(body, strings.Repeat("x", pad)...)
	body = append(body, tail...)
	return shot{ievent: id, body: body, pad: pad, padAt: len(head), cred: r.creds.right}
}

func bigGrade(r *runner, a reply) (Grade, string) {
	switch {
	case limited(a):
		return Fail, rateLimited("the event")
	case a.class == "" && a.status == http.StatusRequestEntityTooLarge:
		return Pass, "refused with 413: the ESPF drops it, never re-sent"
	case a.outcome() == espf.Dropped:
		return Warn, fmt.Sprintf("refused with %d, not 413: dropped all the same, but the ESPF log no longer says why", a.status)
	case a.outcome() == espf.Delivered:
		return Warn, "answered 200: the Application reads bodies of any size, so one huge request can exhaust its memory"
	}
	return Fail, r.says(a, "an event over 1 MiB is")
}

// probed sends build's request, then a valid event (the liveness probe):
// when the probe gets no answer the Application died, the case fails and
// the run stops; when the probe is not answered 200 the case fails;
// otherwise g grades the request's own answer.
func probed(build func(r *runner, id int64) shot, g grader) func(context.Context, *runner) (verdict, error) {
	return func(ctx context.Context, r *runner) (verdict, error) {
		base, known := r.lastValid()
		if !known { // what does a valid event get here? (the baseline of the probe after)
			first, _, err := r.probe(ctx)
			if err != nil {
				return verdict{}, err
			}
			if first.class != "" && first.class != espf.ErrTimeout {
				r.answer(r.cur, first)
				return verdict{grade: Fail, msg: "a valid event sent first was not answered: " + r.says(first, "it is")}, nil
			}
			base = first
		}
		s := build(r, r.ids(1))
		r.cur.IEvent = s.ievent
		a, err := r.send(ctx, s)
		if err != nil {
			return verdict{}, err
		}
		r.answer(r.cur, a)
		p, ps, err := r.probe(ctx)
		if err != nil {
			return verdict{}, err
		}
		switch {
		case p.class != "" && p.class != espf.ErrTimeout:
			r.dead = r.cur.ID
			return verdict{grade: Fail, repro: replay(s), msg: fmt.Sprintf(
				"after this request the Application stopped answering (a valid event right after it: %s): it died of it. "+
					"The ESPF re-sends every event until it is back, and this one again on every re-send", p.text(r.cfg.Timeout))}, nil
		case limited(p):
			return verdict{grade: Fail, repro: replay(s, ps), msg: "a valid event right after it: " + rateLimited("that event")}, nil
		case p.outcome() != espf.Delivered && base.outcome() == espf.Delivered:
			return verdict{grade: Fail, repro: replay(s, ps), msg: fmt.Sprintf(
				"a valid event right after this request was not delivered: %s", r.says(p, "it is"))}, nil
		}
		grade, msg := g(r, a)
		return verdict{grade: grade, msg: msg, repro: replay(s)}, nil
	}
}
