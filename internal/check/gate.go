package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/espfctl/espfctl/internal/sign"
)

// ErrRefused means the Application refused a valid event sent with the
// configured credentials (401 or 403): nothing else can be graded, since
// every wrong-credential case would pass for the wrong reason. Run returns
// it, with the results so far, wrapped in words that name the scheme and
// the credential, and what a probe found (a clock off by whole hours, an
// Exp read as milliseconds).
var ErrRefused = errors.New("the Application refused the configured credentials")

// credentialsFirst makes sure a valid event with the configured credentials
// is answered before anything else is graded. c is the first case that
// sends an event: when its own first request is such an event (gate), its
// answer decides, after it ran (see refusedValid); otherwise one valid
// Subscriber/Created is sent now. A refusal is ErrRefused; a failure to
// connect is left to the cases (they say it, and Run stops as unreachable).
func (r *runner) credentialsFirst(ctx context.Context, c Case) error {
	if c.gate {
		return nil
	}
	s, err := r.event("Subscriber/Created", false)
	if err != nil {
		return err
	}
	rep, err := r.send(ctx, s)
	if err != nil {
		return err
	}
	return r.refusal(ctx, s, rep)
}

// refusedValid is credentialsFirst's decision after a gate case ran: the
// answer to its valid event.
func (r *runner) refusedValid(ctx context.Context, c Case, ievent int64) error {
	if !c.gate {
		return nil
	}
	rep, ok := r.lastValid()
	if !ok {
		return nil
	}
	return r.refusal(ctx, shot{ievent: ievent}, rep)
}

// refusal is ErrRefused, explained, when rep refused a valid event; nil
// otherwise.
func (r *runner) refusal(ctx context.Context, s shot, rep reply) error {
	if rep.class != "" || (rep.status != http.StatusUnauthorized && rep.status != http.StatusForbidden) {
		return nil
	}
	msg := fmt.Sprintf("a valid Subscriber/Created (i_event %d) with the configured %s was answered %d %s",
		s.ievent, sign.Describe(r.creds.cfg), rep.status, http.StatusText(rep.status))
	if line := rep.said.FirstLine(); line != "" {
		msg += fmt.Sprintf(" (the Application said: %q)", line)
	}
	why, err := r.diagnose(ctx)
	if err != nil {
		return err
	}
	if why == "" {
		why = "Are these the credentials the Application expects? (" + sign.Flags(r.scheme) + ")"
	}
	return fmt.Errorf("%w: %s. %s. Nothing else was graded: every wrong-credential case would pass for the wrong reason", ErrRefused, msg, why)
}

// diagnose probes why a valid credential was refused, where a probe can
// tell: a Signature Date shifted by whole hours that is accepted means the
// Application's clock or time zone is off by that much; a Bearer Exp in
// milliseconds that is accepted means the Application reads Exp as
// milliseconds. "" when no probe applies or none was accepted. An accepted
// probe is a delivered event (a fresh i_event, as every case's).
func (r *runner) diagnose(ctx context.Context) (string, error) {
	switch r.scheme {
	case sign.SchemeSignature:
		cred, err := r.creds.variant(variant{})
		if err != nil {
			return "", err
		}
		for h := 1; h <= 14; h++ {
			for _, dir := range []int{1, -1} {
				off := time.Duration(dir*h) * time.Hour
				s, err := r.event("Subscriber/Created", false)
				if err != nil {
					return "", err
				}
				s.cred, s.date, s.at, s.valid = cred, dateFixed, r.cfg.Now().Add(off), false
				rep, err := r.send(ctx, s)
				if err != nil {
					return "", err
				}
				if rep.class != "" {
					return "", nil
				}
				if rep.status == http.StatusOK {
					way := "ahead"
					if dir < 0 {
						way = "behind"
					}
					return fmt.Sprintf("A Date %+d h from now, signed for that Date, was accepted: the Application's clock or time zone is %d hours %s "+
						"(is it reading the Date, which is always GMT, as local time?)", dir*h, h, way), nil
				}
			}
		}
	case sign.SchemeBearer:
		cred, err := r.creds.variant(variant{claims: "exp-ms"})
		if err != nil {
			return "", err
		}
		s, err := r.event("Subscriber/Created", false)
		if err != nil {
			return "", err
		}
		s.cred, s.valid = cred, false
		rep, err := r.send(ctx, s)
		if err != nil || rep.class != "" {
			return "", err
		}
		if rep.status == http.StatusOK {
			return "A token whose Exp is in milliseconds was accepted: the Application reads Exp as milliseconds; PortaBilling writes seconds since 1970 " +
				"(so every real token looks expired to it)", nil
		}
	}
	return "", nil
}
