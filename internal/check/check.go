// Package check is the ESPF conformance suite: cases with IDs tied to the
// sections of contract.md (2/exact-200, 3.bearer/alg-none…), each sending
// what PortaBilling's ESPF sends (or a deliberately wrong variant of it) to
// a live Application and grading the answer by what the ESPF would do with
// it (package espf): exactly 200 delivers, any 4xx drops the event for
// good, anything else re-sends it, for ever if the answer never changes.
// A failed case carries a curl reproducer with every secret replaced by a
// reference to its ESPFCTL_* environment variable. Nothing here prints.
package check

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
)

// Defaults for Config's zero fields, and the suite's fixed numbers.
const (
	DefaultTimeout    = 30 * time.Second // per request; the ESPF's own is 300 s
	DefaultSlow       = 5 * time.Second  // a p99 above this warns (burst) or fails (soak)
	DefaultFirstEvent = 9_000_000_000    // far above real i_event values, so cases never collide with real data
	DefaultCopies     = 10               // concurrent copies of one event in 2/duplicate-concurrent
	DefaultBurst      = 100              // distinct events sent at once in 2/burst
	DefaultSoak       = 20 * time.Second // the command's --soak default; Config's zero Soak turns 2/soak off
	SoakRate          = 10               // events per second in 2/soak: the ESPF's average
	BodyLimit         = 1 << 20          // 1 MiB: 1/over-1mib sends one byte more
	BodyPause         = time.Second      // 2/body-after-pause: the body follows the headers this much later
)

// ErrUnreachable means no request got an HTTP answer: the first ones
// failed to connect (refused, DNS, TLS…), so the run stopped. Run returns
// it with the results so far.
var ErrUnreachable = errors.New("the Application could not be reached")

// Config describes one conformance run. URL and Creds are required; the
// rest has usable zero values.
type Config struct {
	URL   string
	Creds sign.Config // the credentials the ESPF is configured with (scheme, secrets, header name)

	Client   *http.Client  // nil = built from TLS; redirects are never followed
	TLS      *tls.Config   // for the built client and the transport cases; nil = system defaults
	HTTP2    bool          // let the built client negotiate HTTP/2 over TLS; the ESPF speaks HTTP/1.1
	Headers  http.Header   // extra headers on every request (shown as they are in reproducers)
	CurlArgs []string      // curl options that match TLS (--cacert F, -k…), for reproducers
	Timeout  time.Duration // per request; 0 = DefaultTimeout
	Slow     time.Duration // p99 bound of 2/burst and 2/soak; 0 = DefaultSlow

	FirstEvent int64         // the first i_event used; 0 = DefaultFirstEvent
	Select     []string      // case IDs or section prefixes (see Select); empty = every case of the scheme
	Strict     bool          // warnings fail
	Copies     int           // 0 = DefaultCopies
	Burst      int           // 0 = DefaultBurst
	Soak       time.Duration // how long 2/soak sends at SoakRate; 0 = off (skipped)
	// StateURL is where the Application shows an entity's state, with
	// {group} and {id} (--state-url): the 7.state cases read it; without it
	// they are left out (skipped when named).
	StateURL string
	// RestartCmd is a shell command that stops the Application abruptly
	// and starts it again (--restart-cmd): 2/restart runs it once, in the
	// middle of a stream at Rate events per second (0 =
	// DefaultRestartRate); without it the case is left out (skipped when
	// named).
	RestartCmd string
	Rate       float64
	// Payload is the shape of the bodies the cases generate (contract §8);
	// "" = event.DefaultPayload. The cases about a shape send it anyway.
	Payload event.Payload

	Now      func() time.Time // the clock for Date and token expiry; nil = time.Now
	OnResult func(Result)     // called as each case finishes, in order, from Run's goroutine
}

// Grade is a case's verdict.
type Grade string

// Grades. A warning is not a failure (the exit code stays 0) unless
// Config.Strict is set.
const (
	Pass Grade = "pass"
	Warn Grade = "warn"
	Fail Grade = "fail"
	Skip Grade = "skip"
)

// Result is one graded case. The JSON names are a stable interface
// (check --json).
type Result struct {
	ID          string   `json:"id"`      // 3.bearer/alg-none
	Section     string   `json:"section"` // 3.bearer
	Name        string   `json:"name"`    // alg-none
	Sends       string   `json:"sends"`
	Expect      string   `json:"expect"`
	IEvent      int64    `json:"i_event,omitempty"` // the case's (first) event
	Requests    int      `json:"requests"`          // requests sent, liveness probes included
	Status      int      `json:"status"`            // the deciding answer; 0 when there was no HTTP answer
	Error       string   `json:"error,omitempty"`   // timeout, refused, tls, … when there was none
	Answer      string   `json:"answer"`            // "200 OK", "timeout after 30s", "98×200, 2×500"
	ESPF        string   `json:"espf,omitempty"`    // espf.Consequence in words: delivered, dropped or re-sent
	LatencyMS   float64  `json:"latency_ms"`        // the deciding request's; the p99 for load cases
	P99MS       *float64 `json:"p99_ms,omitempty"`  // load cases only
	Grade       Grade    `json:"grade"`
	Consequence string   `json:"consequence"`
	Curl        string   `json:"curl,omitempty"` // a shell reproducer, for failed cases
	// Said is what the Application answered to the deciding request when
	// it was not a plain delivery: its status, headers and the first 4 KiB
	// of its body (its own words: an exception, an error message).
	Said *espf.Reply `json:"said,omitempty"`
}

// Run sends the selected cases one after the other and grades every
// answer, calling cfg.OnResult as each case finishes. It returns an error
// for a bad Config, when ctx ends (with the results so far), or
// ErrUnreachable (with the results so far) when no request got an HTTP
// answer. When the Application stops answering after a malformed request
// (it died), the remaining cases are skipped and Run returns normally.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	cfg, cases, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Client == nil {
		defer r.client.CloseIdleConnections()
	}
	var out []Result
	emit := func(res Result) {
		out = append(out, res)
		if cfg.OnResult != nil {
			cfg.OnResult(res)
		}
	}
	gated := false // a valid event was sent before any case that sends events (credentialsFirst)
	for _, c := range cases {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		res := c.result()
		switch {
		case r.dead != "":
			res.Grade, res.Answer = Skip, "-"
			res.Consequence = "not run: the Application stopped answering after " + r.dead
			emit(res)
			continue
		case c.Scheme != "" && c.Scheme != r.scheme:
			res.Grade, res.Answer = Skip, "-"
			res.Consequence = fmt.Sprintf("for the %s scheme; this run uses %s", c.Scheme, r.scheme)
			emit(res)
			continue
		}
		gate := !gated && !c.transport
		if gate {
			gated = true
			if err := r.credentialsFirst(ctx, c); err != nil {
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
				return out, err
			}
		}
		r.cur = &res
		v, err := c.run(ctx, r)
		if err != nil {
			r.cur = nil
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			return out, fmt.Errorf("case %s: %w", c.ID, err)
		}
		r.finish(&res, v)
		r.cur = nil
		if gate {
			if err := r.refusedValid(ctx, c, res.IEvent); err != nil {
				emit(res)
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
				return out, err
			}
		}
		emit(res)
		if r.answered == 0 && r.failed > 0 {
			reqs := "requests"
			if r.failed == 1 {
				reqs = "request"
			}
			return out, fmt.Errorf("%w: %d %s to %s, none answered (%s)", ErrUnreachable, r.failed, reqs, espf.RedactURL(cfg.URL), r.lastErr)
		}
	}
	return out, nil
}

// prepare checks cfg, fills in defaults and selects the cases.
func prepare(cfg Config) (Config, []Case, error) {
	if cfg.URL == "" {
		return cfg, nil, errors.New("check: no url")
	}
	if u, err := url.Parse(cfg.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, nil, fmt.Errorf("check: url %q: want http:// or https:// and a host", espf.RedactURL(cfg.URL))
	}
	if cfg.Creds.Scheme == "" {
		return cfg, nil, errors.New("check: no credentials configured")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Slow <= 0 {
		cfg.Slow = DefaultSlow
	}
	if cfg.FirstEvent <= 0 {
		cfg.FirstEvent = DefaultFirstEvent
	}
	if cfg.Copies <= 0 {
		cfg.Copies = DefaultCopies
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cases, err := Select(Cases(), cfg.Creds.Scheme, cfg.Select)
	if err != nil {
		return cfg, nil, err
	}
	if cfg.StateURL == "" {
		cases = WithoutState(cases, cfg.Select)
	}
	if cfg.RestartCmd == "" {
		cases = WithoutRestart(cases, cfg.Select)
	}
	return cfg, cases, nil
}

// verdict is what a case's run decided.
type verdict struct {
	grade Grade
	msg   string
	repro *script // what to replay when the case fails; nil = the case sent nothing
}

// finish fills in the grade, applies --strict and attaches the reproducer.
func (r *runner) finish(res *Result, v verdict) {
	res.Grade, res.Consequence = v.grade, v.msg
	if line := res.Said.FirstLine(); line != "" && res.Grade != Pass && res.Grade != Skip {
		res.Consequence += fmt.Sprintf(". The Application said: %q", line)
	}
	if r.cfg.Strict && res.Grade == Warn {
		res.Grade = Fail
		res.Consequence = "--strict: " + res.Consequence
	}
	if res.Grade == Fail && v.repro != nil {
		res.Curl = v.repro.render(r)
	}
}

// answer fills in res from the deciding reply.
func (r *runner) answer(res *Result, rep reply) {
	res.Status, res.Error = rep.status, rep.class
	res.Answer = rep.text(r.cfg.Timeout)
	res.ESPF = rep.outcome().Words()
	res.LatencyMS = ms(rep.took)
	res.Said = rep.said
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// reply is what one request got back.
type reply struct {
	status int
	class  string // espf.ErrorClass of a transport failure; "" = an HTTP answer
	detail string // why, for a TLS failure (the x509 reason)
	took   time.Duration
	said   *espf.Reply // the answer, when it was not a plain delivery (espf.Keep)
	early  bool        // the answer came before the body was sent (shot.pause)
}

func (a reply) outcome() espf.Outcome { return espf.Consequence(a.status, a.class != "") }

func (a reply) text(timeout time.Duration) string {
	switch {
	case a.class == espf.ErrTimeout:
		return "timeout after " + timeout.String()
	case a.class != "":
		return a.class
	}
	return fmt.Sprintf("%d %s", a.status, http.StatusText(a.status))
}
