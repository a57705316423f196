// Package check grades a live Application against the ESPF contract: it
// sends a short, fixed series of requests, one at a time, and says what the
// ESPF would do with each answer (contract.md §2): exactly 200 delivers,
// any 4xx drops the event for good, anything else re-sends it, for ever if
// the answer never changes. Nothing here prints.
package check

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sign"
)

// Defaults for Config's zero fields.
const (
	DefaultTimeout    = 30 * time.Second // per request; the ESPF's own is 300 s
	DefaultSlow       = 5 * time.Second  // latency above this warns
	DefaultFirstEvent = 9_000_000_000    // far above real i_event values, so checks never collide with real data
)

// ErrUnreachable means no request got an HTTP answer: every one failed to
// connect (refused, DNS, TLS…). Run returns it with the results.
var ErrUnreachable = errors.New("the Application could not be reached")

// Config describes one conformance run. URL and Auth are required; the
// rest has usable zero values.
type Config struct {
	URL        string
	Auth       sign.Auth     // the credentials the ESPF is configured with
	Forged     sign.Auth     // the same scheme with wrong secrets (see Forge); nil = wrong-credentials is skipped
	Client     *http.Client  // nil = built from TLS; redirects are never followed
	TLS        *tls.Config   // for the built client (espf.TLS.Config builds it); nil = system defaults
	HTTP2      bool          // let the built client negotiate HTTP/2 over TLS; the ESPF speaks HTTP/1.1
	Headers    http.Header   // extra headers on every request
	Timeout    time.Duration // per request; 0 = DefaultTimeout
	Slow       time.Duration // latency warn threshold; 0 = DefaultSlow
	FirstEvent int64         // the first i_event used; 0 = DefaultFirstEvent
	Only       []string      // run only these checks (names from Names); empty = all
	Now        func() time.Time
}

// Grade is a check's verdict.
type Grade string

// Grades. A warning is not a failure: the exit code stays 0.
const (
	Pass Grade = "pass"
	Warn Grade = "warn"
	Fail Grade = "fail"
	Skip Grade = "skip"
)

// Result is one graded check. The JSON names are a stable interface
// (check --json).
type Result struct {
	Name        string  `json:"name"`
	Sends       string  `json:"sends"`
	Expect      string  `json:"expect"`
	IEvent      int64   `json:"i_event,omitempty"`
	Status      int     `json:"status"`          // 0 when there was no HTTP answer
	Error       string  `json:"error,omitempty"` // timeout, refused, tls, … when there was none
	Answer      string  `json:"answer"`          // "200", "204", "timeout after 30s", "refused"
	ESPF        string  `json:"espf,omitempty"`  // espf.Consequence in words: delivered, dropped or re-sent
	LatencyMS   float64 `json:"latency_ms"`
	Grade       Grade   `json:"grade"`
	Consequence string  `json:"consequence"`
}

// answer is what one request got back.
type answer struct {
	status  int
	errKind string // espf.ErrorClass of a transport failure
	took    time.Duration
	ievent  int64
}

func (a answer) espf() espf.Outcome { return espf.Consequence(a.status, a.errKind != "") }

func (a answer) text(timeout time.Duration) string {
	switch {
	case a.errKind == "timeout":
		return "timeout after " + timeout.String()
	case a.errKind != "":
		return a.errKind
	}
	return fmt.Sprintf("%d %s", a.status, http.StatusText(a.status))
}

// Names lists the checks in the order they run.
func Names() []string {
	cs := checks()
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.name
	}
	return out
}

// Run sends the checks' requests one after the other and grades every
// answer. It returns an error for a bad Config, when ctx ends (with the
// results so far), or ErrUnreachable (with every result) when no request
// got an HTTP answer.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	client := espf.NewClient(cfg.Client, cfg.TLS, 0, espf.HTTP2(cfg.HTTP2))
	if cfg.Client == nil {
		defer client.CloseIdleConnections()
	}
	r := &runner{cfg: cfg, client: client, answers: map[string]answer{}}
	var out []Result
	for _, c := range checks() {
		if len(cfg.Only) > 0 && !slices.Contains(cfg.Only, c.name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		res := Result{Name: c.name, Sends: c.sends, Expect: c.expect}
		if why := c.skip(r); why != "" {
			res.Grade, res.Answer, res.Consequence = Skip, "-", why
			out = append(out, res)
			continue
		}
		target := c
		if c.reuse != "" {
			target = lookup(c.reuse)
		}
		a, err := r.answer(ctx, target)
		if err != nil {
			return out, err
		}
		res.IEvent, res.Status, res.Error = a.ievent, a.status, a.errKind
		res.Answer, res.ESPF = a.text(cfg.Timeout), a.espf().Words()
		res.LatencyMS = float64(a.took.Microseconds()) / 1000
		res.Grade, res.Consequence = c.grade(r, a)
		out = append(out, res)
	}
	if r.reached == 0 && r.failed > 0 {
		reqs := "requests"
		if r.failed == 1 {
			reqs = "request"
		}
		return out, fmt.Errorf("%w: %d %s to %s, none answered (%s)", ErrUnreachable, r.failed, reqs, espf.RedactURL(cfg.URL), r.lastErr)
	}
	return out, nil
}

func withDefaults(cfg Config) (Config, error) {
	if cfg.URL == "" {
		return cfg, errors.New("check: no url")
	}
	if cfg.Auth == nil {
		return cfg, errors.New("check: no credentials configured")
	}
	for _, n := range cfg.Only {
		if !slices.Contains(Names(), n) {
			return cfg, fmt.Errorf("check: unknown check %q; want one of %s", n, strings.Join(Names(), ", "))
		}
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
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}

// runner sends requests and remembers each check's answer, so that a check
// built on another (redeliver after deliver, latency of deliver) reuses it.
type runner struct {
	cfg     Config
	client  *http.Client
	answers map[string]answer
	reached int // requests that got an HTTP answer (or timed out on an open connection)
	failed  int // requests that could not connect
	lastErr string
}

// request is what one check sends.
type request struct {
	ievent int64
	body   []byte
	auth   sign.Signer // nil = no credentials
	at     time.Time   // the Date to sign for
}

// answer returns c's answer, sending c's request (and what it depends on)
// the first time.
func (r *runner) answer(ctx context.Context, c spec) (answer, error) {
	if a, ok := r.answers[c.name]; ok {
		return a, nil
	}
	if c.after != "" {
		if _, err := r.answer(ctx, lookup(c.after)); err != nil {
			return answer{}, err
		}
	}
	req, err := c.build(r, r.cfg.FirstEvent+c.event)
	if err != nil {
		return answer{}, fmt.Errorf("check %s: %w", c.name, err)
	}
	a, err := r.send(ctx, req)
	if err != nil {
		return answer{}, fmt.Errorf("check %s: %w", c.name, err)
	}
	r.answers[c.name] = a
	return a, nil
}

// send makes one attempt. Only a failure to build the request, or ctx
// ending, is an error; transport failures are answers.
func (r *runner) send(ctx context.Context, q request) (answer, error) {
	tctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := espf.NewRequest(tctx, r.cfg.URL, q.body, r.cfg.Headers, q.auth, q.at)
	if err != nil {
		return answer{}, err
	}
	start := time.Now()
	resp, err := r.client.Do(req)
	a := answer{ievent: q.ievent}
	if err != nil {
		a.took = time.Since(start)
		if ctx.Err() != nil {
			return a, ctx.Err()
		}
		a.errKind = espf.ErrorClass(err, errors.Is(tctx.Err(), context.DeadlineExceeded))
		if a.errKind == "timeout" {
			r.reached++
		} else {
			r.failed++
			r.lastErr = a.errKind
		}
		return a, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	a.took = time.Since(start)
	a.status = resp.StatusCode
	r.reached++
	return a, nil
}

// Forge returns the scheme of cfg with every secret changed (passwords,
// credentials, keys), the rest (user, key id, scheme name, header) kept:
// what a forger who knows everything but the secret would send.
func Forge(cfg sign.Config) (sign.Auth, error) {
	wrong := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = s + "-forged"
		}
		return out
	}
	cfg.Passwords, cfg.Credentials, cfg.Keys = wrong(cfg.Passwords), wrong(cfg.Credentials), wrong(cfg.Keys)
	au, err := sign.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("forge credentials: %w", err)
	}
	return au, nil
}
