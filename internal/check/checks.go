package check

import (
	"fmt"
	"net/http"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
)

// spec is one row of the check table: what it sends and how it grades the
// answer. A row with reuse grades another row's answer instead of sending.
type spec struct {
	name   string
	sends  string // for the report: what is sent
	expect string // for the report: what a correct Application answers
	event  int64  // i_event offset from Config.FirstEvent; rows that share one send the same event
	after  string // a row that must be answered first (redeliver after deliver)
	reuse  string // grade this row's answer (latency grades deliver's)
	skip   func(r *runner) string
	build  func(r *runner, ievent int64) (request, error)
	grade  func(r *runner, a answer) (Grade, string)
}

// unknownType is not in the catalog, and never will be.
const unknownType = "Espfctl/CheckUnknownType"

// checks is the table, in running order. Each row has its own i_event
// (redeliver shares deliver's on purpose).
func checks() []spec {
	never := func(*runner) string { return "" }
	return []spec{
		{name: "deliver", event: 0, skip: never,
			sends:  "a catalog event (Subscriber/Created with i_account, i_event), correctly signed",
			expect: "exactly 200",
			build:  signed(event.DefaultType, false),
			grade:  mustDeliver("the event is")},
		{name: "redeliver", event: 0, after: "deliver", skip: never,
			sends:  "the deliver event again, same body, fresh Date and signature",
			expect: "200 again (idempotent: a re-sent event is answered 200 without repeating the work)",
			build:  signed(event.DefaultType, false),
			grade:  mustDeliver("a re-sent event (after a lost 200) is")},
		{name: "string-ids", event: 1, skip: never,
			sends:  `the deliver event with i_event and i_account as strings of digits ("i_event": "9000000001")`,
			expect: "200 (one documentation page shows ids as strings)",
			build:  signed(event.DefaultType, true),
			grade:  mustDeliver("an event with string ids is")},
		{name: "unknown-type", event: 2, skip: never,
			sends:  "an event type not in the catalog (" + unknownType + "), correctly signed",
			expect: "200 (tolerated), or 4xx (dropped on purpose); never 5xx",
			build:  signed(unknownType, false),
			grade:  tolerate},
		{name: "wrong-credentials", event: 3,
			sends:  "the deliver event signed with a wrong secret",
			expect: "401 or 403",
			skip: func(r *runner) string {
				if r.cfg.Forged == nil {
					return "no forged credentials configured"
				}
				return ""
			},
			build: func(r *runner, id int64) (request, error) {
				q, err := signed(event.DefaultType, false)(r, id)
				q.auth = r.cfg.Forged
				return q, err
			},
			grade: mustRefuse("accepts forged events: anyone who knows the URL can provision", Fail)},
		{name: "no-credentials", event: 4, skip: never,
			sends:  "the deliver event with no credentials header (Date still set)",
			expect: "401 or 403",
			build: func(r *runner, id int64) (request, error) {
				q, err := signed(event.DefaultType, false)(r, id)
				q.auth = nil
				return q, err
			},
			grade: mustRefuse("accepts events without credentials: anyone who knows the URL can provision", Fail)},
		{name: "stale-date", event: 5,
			sends:  "the deliver event with a Date one hour old, correctly signed for that Date",
			expect: "4xx (the Date's age is bounded)",
			skip: func(r *runner) string {
				if r.cfg.Auth.Scheme() != sign.SchemeSignature {
					return "only the signature scheme signs the Date"
				}
				return ""
			},
			build: func(r *runner, id int64) (request, error) {
				q, err := signed(event.DefaultType, false)(r, id)
				q.at = q.at.Add(-time.Hour)
				return q, err
			},
			grade: mustRefuse("accepts a signature one hour old: the replay window is unbounded", Warn)},
		{name: "bad-json", event: 6, skip: never,
			sends:  "a body that is not JSON, correctly signed",
			expect: "4xx (400)",
			build: func(r *runner, id int64) (request, error) {
				return request{ievent: id, auth: r.cfg.Auth, at: r.cfg.Now(),
					body: fmt.Appendf(nil, `{"event_type": "Subscriber/Created", "variables": {"i_event": %d,`, id)}, nil
			},
			grade: mustReject("a body that is not JSON is answered 200: a corrupt event vanishes without trace")},
		{name: "no-i-event", event: 7, skip: never,
			sends:  "valid JSON without variables.i_event, correctly signed",
			expect: "4xx (400)",
			build: func(r *runner, id int64) (request, error) {
				return request{ievent: id, auth: r.cfg.Auth, at: r.cfg.Now(),
					body: fmt.Appendf(nil, `{"event_type":"Subscriber/Created","variables":{"i_account":%d}}`, id)}, nil
			},
			grade: mustReject("an event without i_event is answered 200: it cannot be de-duplicated")},
		{name: "latency", reuse: "deliver", skip: never,
			sends:  "nothing more: the time the deliver answer took",
			expect: "under --slow (warns above), before --timeout (fails without an answer)",
			grade:  latency},
	}
}

func lookup(name string) spec {
	for _, c := range checks() {
		if c.name == name {
			return c
		}
	}
	panic("check: no row " + name) // only called with names from the table
}

// signed builds the event typ with the given i_event (and i_account = the
// same number), signed with the configured credentials at now.
func signed(typ string, stringIDs bool) func(*runner, int64) (request, error) {
	return func(r *runner, id int64) (request, error) {
		g, err := event.NewGenerator(event.GenConfig{Types: []event.Weighted{{Type: typ, Weight: 1}},
			FirstEvent: id, IDMin: id, IDMax: id, StringIDs: stringIDs, Count: 1, Now: r.cfg.Now})
		if err != nil {
			return request{}, err
		}
		it, err := g.Next()
		if err != nil {
			return request{}, err
		}
		return request{ievent: id, body: it.Body, auth: r.cfg.Auth, at: r.cfg.Now()}, nil
	}
}

// resent says what the ESPF does with an answer that is neither 200 nor 4xx.
func resent(r *runner, a answer, what string) string {
	switch {
	case a.errKind == "timeout":
		return fmt.Sprintf("no answer within %s: %s re-sent (the ESPF waits 300 s), for ever if it never answers", r.cfg.Timeout, what)
	case a.errKind != "":
		return fmt.Sprintf("connection failed (%s): %s re-sent for ever while it fails", a.errKind, what)
	case a.status >= 200 && a.status < 300:
		return fmt.Sprintf("answered %d, not 200: %s re-sent for ever (only exactly 200 delivers)", a.status, what)
	}
	return fmt.Sprintf("answered %d: %s re-sent for ever", a.status, what)
}

// mustDeliver passes exactly 200 and fails anything else.
func mustDeliver(what string) func(*runner, answer) (Grade, string) {
	return func(r *runner, a answer) (Grade, string) {
		switch a.espf() {
		case espf.Delivered:
			return Pass, "delivered: removed from the ESPF queue"
		case espf.Dropped:
			msg := fmt.Sprintf("answered %d: %s dropped by the ESPF, never provisioned", a.status, what)
			if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden {
				msg += " (are these the credentials the Application expects?)"
			}
			return Fail, msg
		}
		return Fail, resent(r, a, what)
	}
}

// tolerate passes 200, warns on 4xx (dropped: fine only if on purpose) and
// fails anything else (re-sent for ever).
func tolerate(r *runner, a answer) (Grade, string) {
	switch a.espf() {
	case espf.Delivered:
		return Pass, "tolerated: delivered"
	case espf.Dropped:
		return Warn, fmt.Sprintf("answered %d: events of types it does not handle are dropped (fine if on purpose)", a.status)
	}
	return Fail, resent(r, a, "an event of an unknown type is")
}

// mustRefuse is for requests the Application must not accept: 401/403 pass,
// another 4xx warns, 200 gets on200 with msg200, anything else fails.
func mustRefuse(msg200 string, on200 Grade) func(*runner, answer) (Grade, string) {
	return func(r *runner, a answer) (Grade, string) {
		switch {
		case a.espf() == espf.Delivered:
			return on200, msg200
		case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
			return Pass, fmt.Sprintf("refused with %d: the ESPF drops it, never re-sent", a.status)
		case a.espf() == espf.Dropped:
			return Warn, fmt.Sprintf("refused with %d, not 401/403: dropped, but an auth failure is harder to tell in the ESPF log", a.status)
		}
		return Fail, resent(r, a, "a request it refuses is")
	}
}

// mustReject is for malformed events: any 4xx passes, 200 warns (the event
// vanishes), anything else fails (re-sent for ever).
func mustReject(msg200 string) func(*runner, answer) (Grade, string) {
	return func(r *runner, a answer) (Grade, string) {
		switch a.espf() {
		case espf.Dropped:
			return Pass, fmt.Sprintf("rejected with %d: the ESPF drops it, never re-sent", a.status)
		case espf.Delivered:
			return Warn, msg200
		}
		return Fail, resent(r, a, "a malformed event is")
	}
}

func latency(r *runner, a answer) (Grade, string) {
	switch {
	case a.errKind == "timeout":
		return Fail, fmt.Sprintf("no answer within %s: the event is re-sent; at the ESPF's 10/s, requests pile up", r.cfg.Timeout)
	case a.errKind != "":
		return Fail, "not measured: the deliver request failed (" + a.errKind + ")"
	case a.took > r.cfg.Slow:
		return Warn, fmt.Sprintf("took %s, over %s: at the ESPF's 10/s, %d requests are in flight at once", a.took.Round(time.Millisecond), r.cfg.Slow, int(a.took.Seconds()*10)+1)
	}
	return Pass, fmt.Sprintf("answered in %s", a.took.Round(time.Millisecond))
}
