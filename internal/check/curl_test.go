package check_test

import (
	"encoding/base64"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/testutil"
)

// replay runs a reproducer with sh, the secrets in their ESPFCTL_*
// variables as the user would set them, and returns the HTTP status lines
// curl printed.
func replay(t *testing.T, c sign.Config, script string) []string {
	t.Helper()
	for _, tool := range []string{"sh", "curl", "openssl", "base64", "tr", "head", "date"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("reproducers need %s: %v", tool, err)
		}
	}
	cmd := testutil.Command(t, "sh", "-c", script)
	cmd.Env = append(os.Environ(), check.EnvPassword+"="+first(c.Passwords), check.EnvCredentials+"="+first(c.Credentials), check.EnvKey+"="+first(c.Keys))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("reproducer failed: %v\n%s\nscript:\n%s", err, out, script)
	}
	return regexp.MustCompile(`(?m)^HTTP/1\.1 (\d+)`).FindAllString(string(out), -1)
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

// TestReproducers: the curl reproducer of a failed case, run by sh with
// the secrets in $ESPFCTL_*, gets the answer that failed the case, so it
// sends the same credentials (the reference would answer 401 otherwise),
// headers and body. No reproducer contains a secret.
func TestReproducers(t *testing.T) {
	t.Parallel()
	for _, scheme := range sign.Schemes {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			c := vectors[scheme]
			// 500 on DID events and on bodies over 1 MiB; not idempotent
			newApp := func() http.Handler {
				var mu sync.Mutex
				seen := map[int64]bool{}
				return remap(receiver(t, &c), func(st int, ev *event.Event) int {
					if st == http.StatusRequestEntityTooLarge || (st == 200 && typeIs(ev, "DID/")) {
						return 500
					}
					if st == 200 {
						id, _ := ev.IEvent()
						mu.Lock()
						defer mu.Unlock()
						if seen[id] {
							return 500
						}
						seen[id] = true
					}
					return st
				})
			}
			url := serve(t, newApp(), nil)
			// the replays go to a fresh instance, which has seen none of the events
			fresh := serve(t, newApp(), nil)
			rs, err := check.Run(t.Context(), check.Config{URL: url, Creds: c,
				Select: []string{"1/did", "1/over-1mib", "2/duplicate-concurrent", "7/created-after-deleted"}})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"1/did":                   "500",
				"1/over-1mib":             "500",
				"2/duplicate-concurrent":  "200 500 500 500 500 500 500 500 500 500", // any order
				"7/created-after-deleted": "200 200 500",
			}
			for _, r := range rs {
				if r.Grade != check.Fail {
					t.Errorf("%s: %s, want fail: %s", r.ID, r.Grade, r.Consequence)
					continue
				}
				for _, s := range secretsOf(c) {
					if strings.Contains(r.Curl, s) {
						t.Errorf("%s: the secret %q appears in the reproducer:\n%s", r.ID, s, r.Curl)
					}
				}
				var got []string
				for _, l := range replay(t, c, strings.ReplaceAll(r.Curl, url, fresh)) {
					got = append(got, strings.TrimPrefix(l, "HTTP/1.1 "))
				}
				if r.ID == "2/duplicate-concurrent" {
					slices.Sort(got)
				}
				if strings.Join(got, " ") != want[r.ID] {
					t.Errorf("%s: the reproducer got %q, want %q\n%s", r.ID, got, want[r.ID], r.Curl)
				}
			}
		})
	}
}

// TestReproducersOfRefusals: the reproducer of an authorization case an
// Application wrongly accepts gets the same 200: the variant (no header,
// a random secret, another scheme name, alg none, an expired token, an
// old Date…) is sent as the case sent it.
func TestReproducersOfRefusals(t *testing.T) {
	t.Parallel()
	for _, scheme := range sign.Schemes {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			c := vectors[scheme]
			rs, err := check.Run(t.Context(), check.Config{URL: serve(t, receiver(t, nil), nil), Creds: c, Select: []string{"3." + scheme}})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.Grade == check.Skip || r.ID == "3.signature/no-date" {
					continue // the receiver without auth still wants a Date: 400, a warning
				}
				if r.Grade != check.Fail {
					t.Errorf("%s: %s against an Application without auth, want fail", r.ID, r.Grade)
					continue
				}
				if got := replay(t, c, r.Curl); len(got) != 1 || got[0] != "HTTP/1.1 200" {
					t.Errorf("%s: the reproducer got %q, want 200\n%s", r.ID, got, r.Curl)
				}
			}
		})
	}
}

// TestReproducerOfARecordedDelivery: the reproducer of a delivery as the
// journal recorded it (credentials redacted, the old Date), run by sh with
// the secrets in $ESPFCTL_*, is accepted (200) by a receiver with the same
// credentials and delivers the same bytes; it never holds a secret.
func TestReproducerOfARecordedDelivery(t *testing.T) {
	t.Parallel()
	body := []byte(`{"event_type":"Subscriber/Created","variables":{"i_event":4242,"i_account":7,"note":"it's <b>&amp;"}}`)
	for _, scheme := range sign.Schemes {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			c := vectors[scheme]
			rc := receiver(t, &c)
			url := serve(t, rc, nil)
			recorded := http.Header{"Authorization": {"Basic [redacted]"}, "Date": {"Mon, 02 Jan 2006 15:04:05 GMT"},
				"Host": {"example"}, "Content-Type": {"application/json"}, "Te": {"trailers"}, "User-Agent": {"PortaBilling ESPF"},
				"X-Request-Id": {"abc"}}
			script, err := check.Reproducer(url, c, recorded, body, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secretsOf(c) {
				if strings.Contains(script, s) {
					t.Fatalf("the reproducer holds the secret %q:\n%s", s, script)
				}
			}
			if strings.Contains(script, "redacted") || strings.Contains(script, "2006") || !strings.Contains(script, "X-Request-Id: abc") {
				t.Errorf("the reproducer should drop the redacted credential and the old Date and keep the other headers:\n%s", script)
			}
			if got := replay(t, c, script); len(got) != 1 || !strings.HasSuffix(got[0], "200") {
				t.Fatalf("the reproducer got %v, want one 200\n%s", got, script)
			}
			var evs []journal.Record
			err = rc.Journal().Each(t.Context(), journal.Query{Kinds: []journal.Kind{journal.First}, Capture: true},
				func(r *journal.Record) error { evs = append(evs, *r); return nil })
			if err != nil || len(evs) != 1 || string(evs[0].Body) != string(body) || evs[0].Headers["User-Agent"][0] != "PortaBilling ESPF" {
				t.Errorf("journal after the reproducer: %v %+v", err, evs)
			}
		})
	}
}

// TestReproducerOfANearMiss: the reproducer of a near-miss case writes
// the secret in the other letter case from its $ESPFCTL_* variable (never
// the secret itself): the case-insensitive Application accepts it, the
// reference refuses it.
func TestReproducerOfANearMiss(t *testing.T) {
	t.Parallel()
	for _, x := range []struct{ scheme, id, secret string }{
		{sign.SchemeBasic, "3.basic/password-case", "secret"},
		{sign.SchemeCustom, "3.custom/credentials-case", "passexample"},
	} {
		t.Run(x.scheme, func(t *testing.T) {
			c := vectors[x.scheme]
			lax := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				v := r.Header.Get("Authorization")
				if raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, "Basic ")); err == nil && strings.EqualFold(string(raw), "username:secret") {
					r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("username:secret")))
				}
				if strings.EqualFold(v, "Plain passexample") {
					r.Header.Set("Authorization", "Plain passexample")
				}
				receiver(t, &c).ServeHTTP(w, r)
			})
			url := serve(t, lax, nil)
			rs, err := check.Run(t.Context(), check.Config{URL: url, Creds: c, Select: []string{x.id}})
			if err != nil || len(rs) != 1 || rs[0].Grade != check.Fail {
				t.Fatalf("%s against a case-insensitive Application: %v %+v, want one failure", x.id, err, rs)
			}
			if strings.Contains(rs[0].Curl, x.secret) || strings.Contains(strings.ToLower(rs[0].Curl), x.secret) {
				t.Errorf("the reproducer holds the secret in some letter case:\n%s", rs[0].Curl)
			}
			if got := replay(t, c, rs[0].Curl); len(got) != 1 || got[0] != "HTTP/1.1 200" {
				t.Errorf("the reproducer against the case-insensitive Application got %q, want 200\n%s", got, rs[0].Curl)
			}
			strict := serve(t, receiver(t, &c), nil)
			if got := replay(t, c, strings.ReplaceAll(rs[0].Curl, url, strict)); len(got) != 1 || got[0] != "HTTP/1.1 401" {
				t.Errorf("the reproducer against the reference got %q, want 401 (the near miss, not the right secret)\n%s", got, rs[0].Curl)
			}
		})
	}
}
