package check_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

// vectors are the first known-answer credentials of each scheme in
// shared/espf/vectors.json.
var vectors = map[string]sign.Config{
	sign.SchemeBasic:     {Scheme: sign.SchemeBasic, Users: []string{"username"}, Passwords: []string{"secret"}},
	sign.SchemeCustom:    {Scheme: sign.SchemeCustom, Name: "Plain", Credentials: []string{"passexample"}},
	sign.SchemeSignature: {Scheme: sign.SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"signature_key"}, MaxSkew: sign.DefaultMaxSkew},
	sign.SchemeBearer:    {Scheme: sign.SchemeBearer, Keys: []string{"superkey"}, MaxSkew: sign.DefaultMaxSkew},
}

func auths(t *testing.T, c sign.Config) (sign.Auth, sign.Auth) {
	t.Helper()
	au, err := sign.New(c)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := check.Forge(c)
	if err != nil {
		t.Fatal(err)
	}
	return au, forged
}

// serve runs h with verify.Serve on 127.0.0.1:0 until the test ends.
func serve(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- verify.Serve(ctx, ln, h, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String() + "/espf"
}

func receiver(t testing.TB, au sign.Auth) *verify.Receiver {
	t.Helper()
	rc, err := verify.NewReceiver(verify.Config{Auth: au})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}

func byName(rs []check.Result) map[string]check.Result {
	m := map[string]check.Result{}
	for _, r := range rs {
		m[r.Name] = r
	}
	return m
}

// TestReferenceReceiverPasses: the reference Application passes every check
// under each scheme; stale-date only applies to signature.
func TestReferenceReceiverPasses(t *testing.T) {
	for scheme, c := range vectors {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			au, forged := auths(t, c)
			url := serve(t, receiver(t, au))
			rs, err := check.Run(t.Context(), check.Config{URL: url, Auth: au, Forged: forged})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(rs), len(check.Names()); got != want {
				t.Fatalf("%d results, want %d", got, want)
			}
			for _, r := range rs {
				want := check.Pass
				if r.Name == "stale-date" && scheme != sign.SchemeSignature {
					want = check.Skip
				}
				if r.Grade != want {
					t.Errorf("%s: %s (%s: %s), want %s", r.Name, r.Grade, r.Answer, r.Consequence, want)
				}
			}
			m := byName(rs)
			if m["deliver"].IEvent != check.DefaultFirstEvent || m["redeliver"].IEvent != m["deliver"].IEvent {
				t.Errorf("deliver i_event %d, redeliver %d: want both %d", m["deliver"].IEvent, m["redeliver"].IEvent, check.DefaultFirstEvent)
			}
		})
	}
}

// rewrite wraps the reference receiver and changes its status codes: a
// misbehaving Application that is otherwise correct.
func rewrite(h http.Handler, f func(status int, body []byte) int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		// The whole body, read here: the receiver may answer from the
		// headers alone (a refused request's body is never read).
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(rec, r)
		w.WriteHeader(f(rec.Code, body))
	})
}

// TestMisbehavingApplications: each misbehaviour fails the right checks
// with the consequence the ESPF would bring.
func TestMisbehavingApplications(t *testing.T) {
	c := vectors[sign.SchemeSignature]
	au, forged := auths(t, c)
	tests := []struct {
		name    string
		handler func(t *testing.T) http.Handler
		fail    map[string]string // check → words its consequence contains
	}{
		{"answers 204", func(t *testing.T) http.Handler {
			return rewrite(receiver(t, au), func(st int, _ []byte) int {
				if st == 200 {
					return 204
				}
				return st
			})
		}, map[string]string{"deliver": "answered 204, not 200: the event is re-sent for ever", "redeliver": "re-sent for ever",
			"string-ids": "re-sent for ever", "unknown-type": "re-sent for ever"}},
		{"answers 201", func(t *testing.T) http.Handler {
			return rewrite(receiver(t, au), func(st int, _ []byte) int {
				if st == 200 {
					return 201
				}
				return st
			})
		}, map[string]string{"deliver": "answered 201, not 200", "redeliver": "re-sent for ever",
			"string-ids": "re-sent for ever", "unknown-type": "re-sent for ever"}},
		{"answers 500 to bad JSON", func(t *testing.T) http.Handler {
			return rewrite(receiver(t, au), func(st int, body []byte) int {
				if !json.Valid(body) {
					return 500
				}
				return st
			})
		}, map[string]string{"bad-json": "answered 500: a malformed event is re-sent for ever"}},
		{"accepts any credentials", func(t *testing.T) http.Handler {
			return receiver(t, nil)
		}, map[string]string{"wrong-credentials": "accepts forged events", "no-credentials": "accepts events without credentials"}},
		{"crashes on an unknown type", func(t *testing.T) http.Handler {
			return rewrite(receiver(t, au), func(st int, body []byte) int {
				if strings.Contains(string(body), "CheckUnknownType") {
					return 502
				}
				return st
			})
		}, map[string]string{"unknown-type": "an event of an unknown type is re-sent for ever"}},
		{"drops string ids", func(t *testing.T) http.Handler {
			return rewrite(receiver(t, au), func(st int, body []byte) int {
				if strings.Contains(string(body), `"i_event":"`) {
					return 400
				}
				return st
			})
		}, map[string]string{"string-ids": "dropped by the ESPF, never provisioned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := serve(t, tt.handler(t))
			rs, err := check.Run(t.Context(), check.Config{URL: url, Auth: au, Forged: forged})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				words, wantFail := tt.fail[r.Name]
				switch {
				case wantFail && (r.Grade != check.Fail || !strings.Contains(r.Consequence, words)):
					t.Errorf("%s: %s %q, want fail with %q", r.Name, r.Grade, r.Consequence, words)
				case !wantFail && r.Grade == check.Fail:
					t.Errorf("%s: fail %q (%s), want no failure", r.Name, r.Consequence, r.Answer)
				}
			}
		})
	}
}

// TestOnly runs the named checks alone; redeliver still sends deliver's
// event first, ungraded.
func TestOnly(t *testing.T) {
	au, forged := auths(t, vectors[sign.SchemeBasic])
	rc := receiver(t, au)
	url := serve(t, rc)
	rs, err := check.Run(t.Context(), check.Config{URL: url, Auth: au, Forged: forged, Only: []string{"redeliver", "bad-json"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Name != "redeliver" || rs[1].Name != "bad-json" {
		t.Fatalf("got %+v, want redeliver and bad-json", rs)
	}
	if rs[0].Grade != check.Pass || rs[1].Grade != check.Pass {
		t.Errorf("grades %s, %s; want pass, pass", rs[0].Grade, rs[1].Grade)
	}
	if st := rc.Stats(); st.Deliveries != 3 || st.Duplicates != 1 {
		t.Errorf("receiver saw %d deliveries (%d duplicates), want 3 (deliver, redeliver, bad-json), 1 duplicate", st.Deliveries, st.Duplicates)
	}
	if _, err := check.Run(t.Context(), check.Config{URL: url, Auth: au, Only: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `unknown check "nope"`) {
		t.Errorf("--only nope: %v, want an unknown check error", err)
	}
}

// TestUnreachable: a port where nothing listens refuses every request.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	au, _ := auths(t, vectors[sign.SchemeBasic])
	rs, err := check.Run(t.Context(), check.Config{URL: "http://" + addr + "/", Auth: au})
	if !errors.Is(err, check.ErrUnreachable) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want ErrUnreachable naming refused", err)
	}
	if len(rs) == 0 || rs[0].Grade != check.Fail || rs[0].Answer != "refused" {
		t.Errorf("first result %+v, want a refused failure", rs[0])
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTimeouts: an Application that hangs past --timeout fails deliver and
// latency; one that answers in 6 s passes deliver and warns on latency.
func TestTimeouts(t *testing.T) {
	au, _ := auths(t, vectors[sign.SchemeBasic])
	for _, tt := range []struct {
		name    string
		delay   time.Duration
		deliver check.Grade
		latency check.Grade
		words   string
	}{
		{"hangs", time.Hour, check.Fail, check.Fail, "no answer within 30s"},
		{"slow", 6 * time.Second, check.Pass, check.Warn, "took 6s, over 5s"},
		{"fast", 20 * time.Millisecond, check.Pass, check.Pass, "answered in 20ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					select {
					case <-time.After(tt.delay):
						return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
					case <-r.Context().Done():
						return nil, r.Context().Err()
					}
				})}
				rs, err := check.Run(t.Context(), check.Config{URL: "http://app.test/espf", Auth: au, Client: client,
					Only: []string{"deliver", "latency"}})
				if err != nil {
					t.Fatal(err)
				}
				if rs[0].Grade != tt.deliver || rs[1].Grade != tt.latency || !strings.Contains(rs[1].Consequence, tt.words) {
					t.Errorf("deliver %s, latency %s %q; want %s, %s with %q", rs[0].Grade, rs[1].Grade, rs[1].Consequence, tt.deliver, tt.latency, tt.words)
				}
			})
		})
	}
}

// TestUnboundedDateWarns: a signature receiver that does not bound the
// Date's age accepts a one-hour-old signature: a warning, not a failure.
func TestUnboundedDateWarns(t *testing.T) {
	c := vectors[sign.SchemeSignature]
	c.MaxSkew = 0
	au, forged := auths(t, c)
	rs, err := check.Run(t.Context(), check.Config{URL: serve(t, receiver(t, au)), Auth: au, Forged: forged})
	if err != nil {
		t.Fatal(err)
	}
	got := byName(rs)["stale-date"]
	if got.Grade != check.Warn || !strings.Contains(got.Consequence, "replay window is unbounded") {
		t.Errorf("stale-date: %s %q, want a warning about the replay window", got.Grade, got.Consequence)
	}
	if n := check.Count(rs); n.Fail != 0 || n.Warn != 1 {
		t.Errorf("counts %s, want 1 warning and no failure", n)
	}
}
