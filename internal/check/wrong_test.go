package check_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
)

// withBody hands f the request's body (read in full; r.Body is restored).
func withBody(f func(w http.ResponseWriter, r *http.Request, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f(w, r, body)
	})
}

// remap runs the reference Application, then answers status(its status,
// the body) instead: an Application that is right except for that.
func remap(ref http.Handler, status func(st int, ev *event.Event) int) http.Handler {
	return withBody(func(w http.ResponseWriter, r *http.Request, body []byte) {
		rec := httptest.NewRecorder()
		ref.ServeHTTP(rec, r)
		ev, _ := event.Decode(body)
		w.WriteHeader(status(rec.Code, ev))
	})
}

// route sends the requests lax accepts to a receiver without auth, the
// others to the reference: an Application whose authorization lets
// exactly those through.
func route(t *testing.T, c sign.Config, lax func(r *http.Request, why *sign.Result) bool) http.Handler {
	ref, open, au := receiver(t, &c), receiver(t, nil), mustAuth(t, c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if res := au.Explain(r.Header, nil, time.Now()); !res.Valid && lax(r, res) {
			if r.Header.Get("Date") == "" {
				r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat)) // the receiver without auth wants one
			}
			open.ServeHTTP(w, r)
			return
		}
		ref.ServeHTTP(w, r)
	})
}

// rewrite changes the credentials header before the reference checks it.
func rewrite(ref http.Handler, f func(v string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("Authorization"); v != "" {
			r.Header.Set("Authorization", f(v))
		}
		ref.ServeHTTP(w, r)
	})
}

// failedCheck is the check that failed in an explanation.
func failedCheck(res *sign.Result) sign.Check {
	for _, c := range res.Checks {
		if !c.OK {
			return c
		}
	}
	return sign.Check{}
}

func typeIs(ev *event.Event, prefixes ...string) bool {
	if ev == nil {
		return false
	}
	for _, p := range prefixes {
		if strings.HasPrefix(ev.Type, p) {
			return true
		}
	}
	return false
}

// limiter answers 429 when 5 requests or more arrived in the last second
// (refused ones count too, as in most rate limiters).
type limiter struct {
	mu    sync.Mutex
	times []time.Time
}

func (l *limiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.times = slices.DeleteFunc(l.times, func(t time.Time) bool { return now.Sub(t) > time.Second })
	n := len(l.times)
	l.times = append(l.times, now)
	return n < 5
}

// dying serves ref until a body over 1 MiB arrives: then the process
// "dies" (the listener and every connection close, nothing answers).
func dying(t *testing.T, ref http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 1<<20 {
			_ = srv.Close()
			panic(http.ErrAbortHandler)
		}
		ref.ServeHTTP(w, r)
	})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/espf"
}

// bodyCases are the malformed-body cases, each followed by a probe.
var bodyCases = []string{"1/not-json", "1/no-event-type", "1/variables-not-object", "1/no-i-event", "1/i-event-not-number", "1/over-1mib"}

// TestWrongApplications: each deliberately wrong Application fails exactly
// the cases it should, with the consequence the ESPF would bring. Every
// other case passes (or warns, where said).
func TestWrongApplications(t *testing.T) {
	type wrongApp struct {
		name    string
		scheme  string
		app     func(t *testing.T, c sign.Config) string // the URL
		fail    []string
		warn    []string          // the cases that warn
		words   map[string]string // case → words its consequence contains
		skipTo  bool              // every case after the last failure is skipped (the Application died)
		payload event.Payload     // check --payload; "" = the default
	}
	ok := func(h func(t *testing.T, c sign.Config, ref http.Handler) http.Handler) func(*testing.T, sign.Config) string {
		return func(t *testing.T, c sign.Config) string { return serve(t, h(t, c, receiver(t, &c)), nil) }
	}
	tests := []wrongApp{
		{name: "500 on DID events", scheme: "signature",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return remap(ref, func(st int, ev *event.Event) int {
					if st == 200 && typeIs(ev, "DID/") {
						return 500
					}
					return st
				})
			}),
			fail:  []string{"1/did", "8/enriched-did"},
			words: map[string]string{"1/did": "answered 500: every DID/Created event is re-sent for ever"}},
		{name: "500 on Customer and Invoice events", scheme: "basic",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return remap(ref, func(st int, ev *event.Event) int {
					if st == 200 && typeIs(ev, "Customer/", "Invoice/") {
						return 500
					}
					return st
				})
			}),
			fail: []string{"1/customer", "1/invoice", "8/enriched-customer", "8/enriched-invoice"}},
		{name: "dies on a body over 1 MiB", scheme: "custom",
			app:  func(t *testing.T, c sign.Config) string { return dying(t, receiver(t, &c)) },
			fail: []string{"1/over-1mib"}, skipTo: true,
			words: map[string]string{"1/over-1mib": "stopped answering (a valid event right after it: refused): it died of it"}},
		{name: "answers 500 to a body that is not JSON", scheme: "bearer",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return withBody(func(w http.ResponseWriter, r *http.Request, body []byte) {
					if !json.Valid(body) {
						w.WriteHeader(500)
						return
					}
					ref.ServeHTTP(w, r)
				})
			}),
			fail:  []string{"1/not-json"},
			words: map[string]string{"1/not-json": "answered 500: a malformed event is re-sent for ever"}},
		{name: "crashes (502) on an unknown event type", scheme: "custom",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return remap(ref, func(st int, ev *event.Event) int {
					if ev != nil && ev.Type == "Espfctl/CheckUnknownType" {
						return 502
					}
					return st
				})
			}),
			fail: []string{"1/unknown-type"}},
		// contract §8: a receiver written against the documented example
		{name: "500 on a variable it does not know (event_time)", scheme: "signature", payload: event.Minimal,
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return remap(ref, func(st int, ev *event.Event) int {
					if ev == nil {
						return st
					}
					if _, ok := ev.Variables["event_time"]; ok {
						return 500
					}
					return st
				})
			}),
			fail:  []string{"8/enriched-subscriber", "8/enriched-customer", "8/enriched-invoice", "8/enriched-did", "8/enriched-sim-updated", "8/extra-variables"},
			words: map[string]string{"8/extra-variables": "answered 500: an event with variables the Application does not know is re-sent for ever"}},
		{name: "500 on an event type of three parts", scheme: "basic",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return remap(ref, func(st int, ev *event.Event) int {
					if ev != nil && strings.Count(ev.Type, "/") > 1 {
						return 500
					}
					return st
				})
			}),
			fail:  []string{"8/internal-type", "8/unknown-three-part"},
			words: map[string]string{"8/internal-type": "answered 500: an internal event is re-sent for ever"}},
		{name: "drops events with string ids (400)", scheme: "basic",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return withBody(func(w http.ResponseWriter, r *http.Request, body []byte) {
					if bytes.Contains(body, []byte(`"i_event":"9`)) {
						w.WriteHeader(400)
						return
					}
					ref.ServeHTTP(w, r)
				})
			}),
			fail:  []string{"1/string-ids"},
			words: map[string]string{"1/string-ids": "answered 400: an event with string ids is dropped by the ESPF"}},
		{name: "answers 204 instead of 200", scheme: "signature",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return remap(ref, func(st int, _ *event.Event) int {
					if st == 200 {
						return 204
					}
					return st
				})
			}),
			fail: []string{"1/subscriber", "1/customer", "1/invoice", "1/did", "1/sim-updated", "1/string-ids", "1/unknown-type",
				"2/exact-200", "2/body-after-pause", "2/duplicate", "2/duplicate-concurrent", "2/burst",
				"7/updated-never-created", "7/deleted-never-created", "7/created-after-deleted",
				"8/enriched-subscriber", "8/enriched-customer", "8/enriched-invoice", "8/enriched-did", "8/enriched-sim-updated",
				"8/no-event-time", "8/extra-variables", "8/internal-type", "8/unknown-three-part"},
			words: map[string]string{"2/exact-200": "answered 204, not 200: the documented example event is re-sent for ever (only exactly 200 delivers)",
				"2/burst": "100 of 100 events not answered 200"}},
		{name: "not idempotent: 500 on an i_event it has seen", scheme: "bearer",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				var mu sync.Mutex
				seen := map[int64]bool{}
				return remap(ref, func(st int, ev *event.Event) int {
					if st != 200 {
						return st
					}
					id, _ := ev.IEvent()
					mu.Lock()
					defer mu.Unlock()
					if seen[id] {
						return 500
					}
					seen[id] = true
					return st
				})
			}),
			fail: []string{"2/duplicate", "2/duplicate-concurrent", "7/created-after-deleted"},
			words: map[string]string{"2/duplicate": "answered 500: a re-sent event (after a lost 200) is re-sent for ever",
				"2/duplicate-concurrent": "9 of 10 copies not answered 200"}},
		{name: "500 on Updated or Deleted for an entity it never saw Created", scheme: "custom",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				var mu sync.Mutex
				known := map[string]bool{}
				return remap(ref, func(st int, ev *event.Event) int {
					if st != 200 {
						return st
					}
					mu.Lock()
					defer mu.Unlock()
					switch {
					case strings.HasSuffix(ev.Type, "/Created"):
						known[ev.Entity()] = true
					case (strings.HasSuffix(ev.Type, "/Updated") || strings.HasSuffix(ev.Type, "/Deleted")) && !known[ev.Entity()]:
						return 500
					}
					return st
				})
			}),
			// SIM/Updated for a SIM never seen is the same bug
			fail: []string{"1/sim-updated", "7/updated-never-created", "7/deleted-never-created", "8/enriched-sim-updated"},
			words: map[string]string{"7/updated-never-created": "answered 500: the update is re-sent for ever",
				"7/deleted-never-created": "answered 500: the delete is re-sent for ever"}},
		{name: "answers 200 to anything", scheme: "custom",
			app: func(t *testing.T, c sign.Config) string {
				return serve(t, withBody(func(http.ResponseWriter, *http.Request, []byte) {}), nil)
			},
			fail: []string{"3.custom/no-header", "3.custom/wrong-credentials", "3.custom/other-scheme-name", "3.custom/credentials-case"},
			warn: bodyCases,
			words: map[string]string{"3.custom/no-header": "it accepts events without credentials",
				"1/not-json": "answered 200: the ESPF counts the corrupt event as delivered, and it vanishes without trace"}},
		{name: "accepts any credentials", scheme: "basic",
			app: ok(func(t *testing.T, c sign.Config, _ http.Handler) http.Handler { return receiver(t, nil) }),
			fail: []string{"3.basic/no-header", "3.basic/wrong-password", "3.basic/other-scheme-name", "3.basic/wrong-user",
				"3.basic/password-case", "3.basic/user-case"},
			words: map[string]string{"3.basic/wrong-password": "it accepts a wrong secret"}},
		{name: "basic: checks the password only", scheme: "basic",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return rewrite(ref, func(v string) string {
					raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, "Basic "))
					if _, pass, ok := strings.Cut(string(raw), ":"); err == nil && ok {
						return "Basic " + base64.StdEncoding.EncodeToString([]byte("username:"+pass))
					}
					return v
				})
			}),
			fail: []string{"3.basic/wrong-user", "3.basic/user-case"}},
		{name: "basic: compares the password without regard to case", scheme: "basic",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return rewrite(ref, func(v string) string {
					raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, "Basic "))
					if user, pass, ok := strings.Cut(string(raw), ":"); err == nil && ok && strings.EqualFold(pass, "secret") {
						return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":secret"))
					}
					return v
				})
			}),
			fail:  []string{"3.basic/password-case"},
			words: map[string]string{"3.basic/password-case": "it compares the password without regard to letter case"}},
		{name: "basic: compares the user without regard to case", scheme: "basic",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return rewrite(ref, func(v string) string {
					raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, "Basic "))
					if user, pass, ok := strings.Cut(string(raw), ":"); err == nil && ok && strings.EqualFold(user, "username") {
						return "Basic " + base64.StdEncoding.EncodeToString([]byte("username:"+pass))
					}
					return v
				})
			}),
			fail: []string{"3.basic/user-case"}},
		{name: "custom: compares the credentials without regard to case", scheme: "custom",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return rewrite(ref, func(v string) string {
					if name, cred, ok := strings.Cut(v, " "); ok && strings.EqualFold(cred, "passexample") {
						return name + " passexample"
					}
					return v
				})
			}),
			fail: []string{"3.custom/credentials-case"}},
		{name: "signature: compares the keyId without regard to case", scheme: "signature",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return rewrite(ref, func(v string) string { return strings.Replace(v, `keyId="TEST"`, `keyId="test"`, 1) })
			}),
			fail: []string{"3.signature/key-id-case"}},
		{name: "signature: no bound on the Date", scheme: "signature",
			app: func(t *testing.T, c sign.Config) string {
				lax := c
				lax.MaxSkew = 0
				return serve(t, receiver(t, &lax), nil)
			},
			fail:  []string{"3.signature/date-hour-old", "3.signature/date-future"},
			words: map[string]string{"3.signature/date-hour-old": "the Date's age is not bounded"}},
		{name: "signature: ignores the algorithm parameter", scheme: "signature",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return rewrite(ref, func(v string) string {
					return regexp.MustCompile(`algorithm="[^"]*"`).ReplaceAllString(v, `algorithm="hmac-sha1"`)
				})
			}),
			fail: []string{"3.signature/wrong-algorithm"}},
		{name: "signature: ignores the keyId", scheme: "signature",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				return rewrite(ref, func(v string) string { return regexp.MustCompile(`keyId="[^"]*"`).ReplaceAllString(v, `keyId="test"`) })
			}),
			fail: []string{"3.signature/wrong-key-id", "3.signature/key-id-case"}},
		{name: "signature: signs a missing Date as the empty string", scheme: "signature",
			app: func(t *testing.T, c sign.Config) string {
				return serve(t, route(t, c, func(r *http.Request, res *sign.Result) bool {
					return r.Header.Get("Date") == "" && strings.Contains(r.Header.Get("Authorization"), `signature="`+sign.Sum([]byte("signature_key"), "")+`"`)
				}), nil)
			},
			fail: []string{"3.signature/no-date"}},
		{name: "any scheme name, basic", scheme: "basic", app: anyName("Basic"), fail: []string{"3.basic/other-scheme-name"}},
		{name: "any scheme name, custom", scheme: "custom", app: anyName("Plain"), fail: []string{"3.custom/other-scheme-name"},
			words: map[string]string{"3.custom/other-scheme-name": "it ignores the scheme name"}},
		{name: "any scheme name, signature", scheme: "signature", app: anyName("Signature"), fail: []string{"3.signature/other-scheme-name"}},
		{name: "any scheme name, bearer", scheme: "bearer", app: anyName("Bearer"), fail: []string{"3.bearer/other-scheme-name"}},
		{name: "bearer: accepts alg none", scheme: "bearer",
			app: func(t *testing.T, c sign.Config) string {
				return serve(t, route(t, c, func(_ *http.Request, res *sign.Result) bool {
					return failedCheck(res).Name == "alg" && failedCheck(res).Got == "none"
				}), nil)
			},
			fail:  []string{"3.bearer/alg-none"},
			words: map[string]string{"3.bearer/alg-none": `it accepts unsigned tokens (alg "none")`}},
		{name: "bearer: accepts expired tokens", scheme: "bearer",
			app: func(t *testing.T, c sign.Config) string {
				return serve(t, route(t, c, func(_ *http.Request, res *sign.Result) bool { return errors.Is(res.Err, sign.ErrStale) }), nil)
			},
			fail:  []string{"3.bearer/expired"},
			words: map[string]string{"3.bearer/expired": "it accepts expired tokens"}},
		{name: "bearer: accepts tokens without expiry", scheme: "bearer",
			app: func(t *testing.T, c sign.Config) string {
				return serve(t, route(t, c, func(_ *http.Request, res *sign.Result) bool {
					return failedCheck(res).Name == "Exp" && failedCheck(res).Got == "none"
				}), nil)
			},
			fail: []string{"3.bearer/no-expiry"}},
		{name: "bearer: accepts HS512 signed with the key", scheme: "bearer",
			app: func(t *testing.T, c sign.Config) string {
				return serve(t, route(t, c, func(r *http.Request, res *sign.Result) bool {
					tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
					i := strings.LastIndex(tok, ".")
					m := hmac.New(sha512.New, []byte("superkey"))
					m.Write([]byte(tok[:max(i, 0)]))
					return i > 0 && tok[i+1:] == base64.RawURLEncoding.EncodeToString(m.Sum(nil))
				}), nil)
			},
			fail: []string{"3.bearer/other-alg"}},
		{name: "bearer: ignores i_env", scheme: "bearer",
			app: func(t *testing.T, c sign.Config) string {
				noEnv := c
				noEnv.IEnv = nil
				return serve(t, receiver(t, &noEnv), nil)
			},
			fail: []string{"3.bearer/other-i-env"}},
		{name: "answers before it has read the body", scheme: "basic",
			app: ok(func(t *testing.T, c sign.Config, ref http.Handler) http.Handler {
				// An Application that answers 200 once the headers check
				// out and reads the body afterwards (a handler that answers
				// first and works later). net/http reads a small body before
				// writing the answer unless the handler is full duplex.
				au := mustAuth(t, c)
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !au.Explain(r.Header, nil, time.Now()).Valid {
						ref.ServeHTTP(w, r)
						return
					}
					rc := http.NewResponseController(w)
					_ = rc.EnableFullDuplex()
					w.WriteHeader(http.StatusOK)
					_ = rc.Flush()
					_, _ = io.Copy(io.Discard, r.Body)
				})
			}),
			fail: []string{"2/body-after-pause"},
			warn: bodyCases, // it answers 200 to every malformed body too
			words: map[string]string{"2/body-after-pause": "answered 200 before the body arrived (it came 1s after the headers): " +
				"the event is removed from the ESPF queue as delivered on the headers alone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := vectors[tt.scheme]
			rs, err := check.Run(t.Context(), check.Config{URL: tt.app(t, c), Creds: c, Payload: tt.payload, Slow: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			assertGrades(t, rs, tt.fail, tt.warn, tt.skipTo)
			m := byID(rs)
			for id, words := range tt.words {
				if !strings.Contains(m[id].Consequence, words) {
					t.Errorf("%s: %q, want it to say %q", id, m[id].Consequence, words)
				}
			}
			for _, id := range tt.fail {
				if m[id].Curl == "" {
					t.Errorf("%s failed without a reproducer", id)
				}
				for _, s := range secretsOf(c) {
					if strings.Contains(m[id].Curl, s) {
						t.Errorf("%s: the secret %q appears in the reproducer", id, s)
					}
				}
			}
		})
	}
}

// anyName is an Application that accepts the right credentials under any
// scheme name: it puts its own name back before checking.
func anyName(own string) func(t *testing.T, c sign.Config) string {
	return func(t *testing.T, c sign.Config) string {
		return serve(t, rewrite(receiver(t, &c), func(v string) string {
			_, rest, _ := strings.Cut(v, " ")
			return own + " " + rest
		}), nil)
	}
}

// assertGrades checks that exactly fail failed, exactly warn warned, and
// the rest passed or were skipped for a reason: plain http (TLS), --soak 0,
// or (skipTo) the Application having died. 1/https, which only looks at
// the URL (TestStrict), may warn or skip.
func assertGrades(t *testing.T, rs []check.Result, fail, warn []string, skipTo bool) {
	t.Helper()
	if got := graded(rs, check.Fail); !slices.Equal(got, fail) {
		t.Errorf("failed %q, want exactly %q", got, fail)
		for _, r := range rs {
			if r.Grade == check.Fail && !slices.Contains(fail, r.ID) {
				t.Logf("%s: %s: %s", r.ID, r.Answer, r.Consequence)
			}
		}
	}
	got := slices.DeleteFunc(graded(rs, check.Warn), func(id string) bool { return id == "1/https" })
	if !slices.Equal(got, warn) && len(got)+len(warn) > 0 {
		t.Errorf("warned %q, want exactly %q", got, warn)
	}
	died := false
	for _, r := range rs {
		if r.Grade != check.Skip {
			died = died || (skipTo && slices.Contains(fail, r.ID))
			continue
		}
		switch {
		case strings.HasPrefix(r.ID, "1/tls-"), r.ID == "1/https", r.ID == "2/soak": // plain http to loopback
		case died && strings.Contains(r.Consequence, "stopped answering after "+fail[len(fail)-1]):
		default:
			t.Errorf("%s skipped: %s", r.ID, r.Consequence)
		}
	}
	if skipTo && !died {
		t.Errorf("the Application was expected to die on %q", fail)
	}
}
