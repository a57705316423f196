package check

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/espfctl/espfctl/internal/espf"
)

// grader turns one reply into a grade and its consequence.
type grader func(r *runner, a reply) (Grade, string)

// says is what the ESPF does with the answer a, for "what" (e.g. "the
// event is"), in words: the outcome comes from espf.Consequence.
func (r *runner) says(a reply, what string) string {
	switch a.outcome() {
	case espf.Delivered:
		return "delivered: removed from the ESPF queue"
	case espf.Dropped:
		if a.status == http.StatusTooManyRequests {
			return rateLimited(what)
		}
		return fmt.Sprintf("answered %d: %s dropped by the ESPF, never provisioned, never re-sent", a.status, what)
	}
	switch {
	case a.class == espf.ErrTimeout:
		if r.cfg.Timeout < espf.Timeout {
			// check's own limit ran out, not the ESPF's: say so, and what an
			// answer later than it but within the ESPF's would get
			return fmt.Sprintf("no answer within %s, check's --timeout (the ESPF waits %d s and delivers an answer that comes before then; raise --timeout to see it): "+
				"if none ever comes, %s re-sent for ever", r.cfg.Timeout, int(espf.Timeout.Seconds()), what)
		}
		return fmt.Sprintf("no answer within %s, the ESPF's timeout: %s re-sent, for ever if it never answers", r.cfg.Timeout, what)
	case a.class != "" && a.detail != "":
		return fmt.Sprintf("connection failed (%s: %s): %s re-sent for ever while it fails", a.class, a.detail, what)
	case a.class != "":
		return fmt.Sprintf("connection failed (%s): %s re-sent for ever while it fails", a.class, what)
	case a.status >= 200 && a.status < 300:
		return fmt.Sprintf("answered %d, not 200: %s re-sent for ever (only exactly 200 delivers)", a.status, what)
	}
	return fmt.Sprintf("answered %d: %s re-sent for ever while the answer stays the same", a.status, what)
}

// rateLimited is the diagnosis of a 429, wherever it comes: it is not an
// authorization result, and it loses events.
// what names the event ("the event", or "the event is" as in says).
func rateLimited(what string) string {
	what = strings.TrimSuffix(what, " is")
	return "answered 429 Too Many Requests: a rate limiter. 429 is a 4xx, so the ESPF drops " + what +
		" for good: never provisioned, never re-sent. The ESPF sends about 10/s, and faster while it catches up" +
		" after an outage: raise the limit, or answer 503 so that the ESPF sends the event again later"
}

func limited(a reply) bool { return a.class == "" && a.status == http.StatusTooManyRequests }

// failedWork is the words for a 200 whose body reads as a failure.
const failedWork = "answered 200, but its body reads as a failure: the ESPF removes the event from its queue, and the work it names was not done"

// mustDeliver passes exactly 200 and fails anything else; a 200 whose
// body reads as a failure warns.
func mustDeliver(what string) grader {
	return func(r *runner, a reply) (Grade, string) {
		switch {
		case limited(a):
			return Fail, rateLimited(what)
		case a.outcome() == espf.Delivered && a.said != nil:
			return Warn, failedWork
		case a.outcome() == espf.Delivered:
			return Pass, r.says(a, what)
		case a.outcome() == espf.Dropped && (a.status == http.StatusUnauthorized || a.status == http.StatusForbidden):
			return Fail, r.says(a, what) + " (are these the credentials the Application expects?)"
		}
		return Fail, r.says(a, what)
	}
}

// mustRefuse is for requests with wrong or missing credentials: 401/403
// pass, another 4xx warns, 200 fails with on200, anything else fails.
func mustRefuse(on200 string) grader {
	return func(r *runner, a reply) (Grade, string) {
		switch {
		case limited(a):
			return Fail, rateLimited("the event")
		case a.outcome() == espf.Delivered:
			return Fail, "answered 200: " + on200
		case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
			return Pass, fmt.Sprintf("refused with %d: the ESPF drops it, never re-sent", a.status)
		case a.outcome() == espf.Dropped:
			return Warn, fmt.Sprintf("refused with %d, not 401/403: dropped all the same, but the ESPF log no longer says it was an authorization failure", a.status)
		}
		return Fail, r.says(a, "a request it refuses is")
	}
}

// mustReject is for malformed events: any 4xx passes, 200 warns with
// on200, anything else fails (re-sent for ever).
func mustReject(on200 string) grader {
	return func(r *runner, a reply) (Grade, string) {
		switch {
		case limited(a):
			return Fail, rateLimited("the event")
		case a.outcome() == espf.Dropped:
			return Pass, fmt.Sprintf("rejected with %d: the ESPF drops it, never re-sent", a.status)
		case a.outcome() == espf.Delivered:
			return Warn, "answered 200: " + on200
		}
		return Fail, r.says(a, "a malformed event is")
	}
}

// tolerate passes 200 and any 4xx (dropped, and never re-sent: fine for an
// event the Application has nothing to do with) and fails anything else.
func tolerate(what, on4xx string) grader {
	return func(r *runner, a reply) (Grade, string) {
		switch {
		case limited(a):
			return Fail, rateLimited(what)
		case a.outcome() == espf.Delivered:
			return Pass, "delivered: removed from the ESPF queue"
		case a.outcome() == espf.Dropped:
			return Pass, fmt.Sprintf("answered %d: dropped, never re-sent (%s)", a.status, on4xx)
		}
		return Fail, r.says(a, what)
	}
}
