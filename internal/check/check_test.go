package check_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

var iEnv = int64(3)

// vectors are the first known-answer credentials of each scheme in
// shared/espf/vectors.json (bearer with its documented i_env 3).
var vectors = map[string]sign.Config{
	sign.SchemeBasic:     {Scheme: sign.SchemeBasic, Users: []string{"username"}, Passwords: []string{"secret"}},
	sign.SchemeCustom:    {Scheme: sign.SchemeCustom, Name: "Plain", Credentials: []string{"passexample"}},
	sign.SchemeSignature: {Scheme: sign.SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"signature_key"}, MaxSkew: sign.DefaultMaxSkew},
	sign.SchemeBearer:    {Scheme: sign.SchemeBearer, Keys: []string{"superkey"}, IEnv: &iEnv, MaxSkew: sign.DefaultMaxSkew},
}

// secretsOf lists the secrets of c, which must never appear in output.
func secretsOf(c sign.Config) []string {
	return slices.Concat(c.Passwords, c.Credentials, c.Keys)
}

func mustAuth(t testing.TB, c sign.Config) sign.Auth {
	t.Helper()
	au, err := sign.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return au
}

// receiver is the reference Application (espfctl serve's handler) for c;
// a nil c is a receiver without auth.
func receiver(t testing.TB, c *sign.Config) *verify.Receiver {
	t.Helper()
	var au sign.Auth
	if c != nil {
		au = mustAuth(t, *c)
	}
	rc, err := verify.NewReceiver(verify.Config{Auth: au})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}

// serve runs h with verify.Serve (as espfctl serve does) on 127.0.0.1:0
// until the test ends; with cert, over TLS.
func serve(t testing.TB, h http.Handler, cert *tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if cert != nil {
		ln, scheme = verify.TLSListener(ln, *cert), "https"
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
	return scheme + "://" + ln.Addr().String() + "/espf"
}

// selfSigned is serve --tls-self-signed's certificate and a client TLS
// config that trusts it (a CA pool, as --ca-file builds).
func selfSigned(t testing.TB) (*tls.Certificate, *tls.Config) {
	t.Helper()
	cert, _, err := verify.SelfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &cert, &tls.Config{RootCAs: pool}
}

func byID(rs []check.Result) map[string]check.Result {
	m := map[string]check.Result{}
	for _, r := range rs {
		m[r.ID] = r
	}
	return m
}

// graded lists the IDs of rs with grade g, in running order.
func graded(rs []check.Result, g check.Grade) []string {
	var out []string
	for _, r := range rs {
		if r.Grade == g {
			out = append(out, r.ID)
		}
	}
	return out
}

// TestServePassesEveryCase: against espfctl serve's Application over real
// loopback, every case passes for every scheme, over http and over https
// (serve's self-signed certificate, trusted through a CA pool). Over http
// the only exceptions are the transport: 1/https and the TLS cases skip
// (plain http to loopback crosses no network). 2/soak runs for half a second.
func TestServePassesEveryCase(t *testing.T) {
	for _, scheme := range sign.Schemes {
		for _, overTLS := range []bool{false, true} {
			name := scheme + "/http"
			if overTLS {
				name = scheme + "/https"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c := vectors[scheme]
				// what is graded here is correctness: the p99 bound and a burst
				// of 100 TLS handshakes at once are the load tests' (synctest),
				// so that a loaded machine does not change the verdict
				cfg := check.Config{Creds: c, Soak: 500 * time.Millisecond, Slow: time.Hour, Burst: 10}
				var cert *tls.Certificate
				if overTLS {
					cert, cfg.TLS = selfSigned(t)
				}
				cfg.URL = serve(t, receiver(t, &c), cert)
				cfg.StateURL = strings.TrimSuffix(cfg.URL, "/espf") + "/state/{group}/{id}" // serve keeps entities with design (b)
				rs, err := check.Run(t.Context(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := check.Select(check.Cases(), scheme, nil)
				want = check.WithoutRestart(want, nil) // no --restart-cmd: serve restarted is TestCheckRestart's (cmd/espfctl)
				if got := len(rs); got != len(want) {
					t.Fatalf("%d results, want %d (every case of %s)", got, len(want), scheme)
				}
				for _, r := range rs {
					grade := check.Pass
					if !overTLS && r.ID == "1/https" {
						grade = check.Skip
					}
					if !overTLS && strings.HasPrefix(r.ID, "1/tls-") {
						grade = check.Skip
					}
					if r.Grade != grade {
						t.Errorf("%s: %s (%s: %s), want %s", r.ID, r.Grade, r.Answer, r.Consequence, grade)
					}
					if r.Curl != "" {
						t.Errorf("%s: a reproducer on a case that did not fail", r.ID)
					}
				}
				m := byID(rs)
				if s := m["2/soak"]; s.Requests != 5 || s.P99MS == nil {
					t.Errorf("2/soak sent %d requests in 500ms at 10/s (p99 %v), want 5 and a p99", s.Requests, s.P99MS)
				}
				if b := m["2/burst"]; b.Requests != cfg.Burst || b.Answer != fmt.Sprintf("%d×200", cfg.Burst) {
					t.Errorf("2/burst: %d requests, answer %q; want %d, all 200", b.Requests, b.Answer, cfg.Burst)
				}
				if overTLS && !strings.Contains(m["1/tls-certificate"].Consequence, "valid for 127.0.0.1") {
					t.Errorf("1/tls-certificate: %q, want the host it is valid for", m["1/tls-certificate"].Consequence)
				}
			})
		}
	}
}

// TestSelect: IDs, ID prefixes, sections and section prefixes pick cases
// in running order; other schemes' cases only when named exactly. Each
// selection is stated as the rule it follows (which cases of the table it
// must be), so a case added to the table needs no edit here.
func TestSelect(t *testing.T) {
	t.Parallel()
	all := check.Cases()
	section := func(id string) func(check.Case) bool { return func(c check.Case) bool { return c.Section == id } }
	tests := []struct {
		scheme string
		args   []string
		want   func(check.Case) bool // the cases of the table it picks, in their order
		has    []string              // some of them, by name: the rule picks something real
		err    string
	}{
		{scheme: "basic", args: []string{"2/duplicate", "1/tls-"},
			want: func(c check.Case) bool {
				return strings.HasPrefix(c.ID, "2/duplicate") || strings.HasPrefix(c.ID, "1/tls-")
			},
			has: []string{"1/tls-version", "1/tls-certificate", "2/duplicate", "2/duplicate-concurrent"}},
		{scheme: "bearer", args: []string{"3"}, want: section("3.bearer"), has: []string{"3.bearer/alg-none"}},
		{scheme: "basic", args: []string{"3"}, want: section("3.basic"), has: []string{"3.basic/no-header", "3.basic/wrong-password"}},
		{scheme: "basic", args: []string{"3.bearer/alg-none,7/deleted-never-created"},
			want: func(c check.Case) bool { return c.ID == "3.bearer/alg-none" || c.ID == "7/deleted-never-created" },
			has:  []string{"3.bearer/alg-none", "7/deleted-never-created"}},
		{scheme: "signature", args: []string{"2"}, want: section("2"), has: []string{"2/exact-200", "2/burst", "2/soak"}},
		{scheme: "custom", args: nil, want: func(c check.Case) bool { return c.Scheme == "" || c.Scheme == "custom" },
			has: []string{"1/https", "3.custom/other-scheme-name", "7/deleted-never-created"}},
		{scheme: "", args: nil, want: func(check.Case) bool { return true }, has: []string{"3.basic/wrong-user", "3.bearer/alg-none"}},
		{scheme: "basic", args: []string{"3.bear"}, err: `no case matches "3.bear"`},
		{scheme: "basic", args: []string{"deliver"}, err: `no case matches "deliver"`},
	}
	for _, tt := range tests {
		got, err := check.Select(all, tt.scheme, tt.args)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Select(%s, %q) error %v, want %q", tt.scheme, tt.args, err, tt.err)
			}
			continue
		case err != nil:
			t.Errorf("Select(%s, %q): %v", tt.scheme, tt.args, err)
			continue
		}
		var want []string
		for _, c := range all {
			if tt.want(c) {
				want = append(want, c.ID)
			}
		}
		if !slices.Equal(check.IDs(got), want) {
			t.Errorf("Select(%s, %q) = %q, want %q", tt.scheme, tt.args, check.IDs(got), want)
		}
		for _, id := range tt.has {
			if !slices.Contains(want, id) {
				t.Errorf("Select(%s, %q): the table has no %s", tt.scheme, tt.args, id)
			}
		}
	}
}

// TestCaseTable: every case has a unique ID made of its section, a known
// section, and the text --list prints.
func TestCaseTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range check.Cases() {
		if seen[c.ID] {
			t.Errorf("%s: duplicate ID", c.ID)
		}
		seen[c.ID] = true
		if !strings.HasPrefix(c.ID, c.Section+"/") || check.SectionTitle(c.Section) == "" {
			t.Errorf("%s: section %q is not its prefix or not a section", c.ID, c.Section)
		}
		if c.Sends == "" || c.Passes == "" || c.Why == "" {
			t.Errorf("%s: sends %q, passes %q, why %q: want all three", c.ID, c.Sends, c.Passes, c.Why)
		}
		if strings.HasPrefix(c.Section, "3.") && c.Scheme != strings.TrimPrefix(c.Section, "3.") {
			t.Errorf("%s: scheme %q, want the section's", c.ID, c.Scheme)
		}
	}
}

// TestSkippedSchemeCase: a case of another scheme, named exactly, is
// reported as skipped, and sends nothing.
func TestSkippedSchemeCase(t *testing.T) {
	t.Parallel()
	c := vectors[sign.SchemeBasic]
	rs, err := check.Run(t.Context(), check.Config{URL: serve(t, receiver(t, &c), nil), Creds: c, Select: []string{"3.bearer/alg-none"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Grade != check.Skip || rs[0].Requests != 0 || !strings.Contains(rs[0].Consequence, "for the bearer scheme") {
		t.Errorf("got %+v, want one skip for the bearer scheme", rs)
	}
}

// TestStrict: a warning fails the case under Strict; plain http to a
// network address is one (1/https), plain http to loopback is not: a
// reference Application on this machine passes --strict.
func TestStrict(t *testing.T) {
	t.Parallel()
	c := vectors[sign.SchemeCustom]
	url := serve(t, receiver(t, &c), nil)
	rs, err := check.Run(t.Context(), check.Config{URL: url, Creds: c, Strict: true, Select: []string{"1", "2/exact-200"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := graded(rs, check.Fail); len(got) > 0 {
		t.Fatalf("failed %q over http to loopback, want none", got)
	}
	if r := byID(rs)["1/https"]; r.Grade != check.Skip || !strings.Contains(r.Consequence, "loopback") {
		t.Errorf("1/https over loopback: %s %q, want skipped, saying loopback", r.Grade, r.Consequence)
	}
	// 1/https only looks at the URL: a network address needs no Application
	for _, strict := range []bool{false, true} {
		rs, err := check.Run(t.Context(), check.Config{URL: "http://espf.example:8080/espf", Creds: c, Strict: strict, Select: []string{"1/https"}})
		if err != nil {
			t.Fatal(err)
		}
		want, words := check.Warn, "plain http://"
		if strict {
			want, words = check.Fail, "--strict: plain http://"
		}
		if r := byID(rs)["1/https"]; r.Grade != want || !strings.HasPrefix(r.Consequence, words) {
			t.Errorf("1/https over http to a network host, strict %t: %s %q, want %s %q…", strict, r.Grade, r.Consequence, want, words)
		}
	}
}

// TestUnreachable: a port where nothing listens: the run stops after the
// first request with ErrUnreachable naming the reason.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := vectors[sign.SchemeBasic]
	rs, err := check.Run(t.Context(), check.Config{URL: "http://" + addr + "/", Creds: c})
	if !errors.Is(err, check.ErrUnreachable) || !strings.Contains(err.Error(), "1 request to http://"+addr+"/, none answered (refused)") {
		t.Fatalf("err = %v, want ErrUnreachable after 1 request, refused", err)
	}
	last := rs[len(rs)-1]
	if last.ID != "1/subscriber" || last.Grade != check.Fail || last.Answer != "refused" {
		t.Errorf("last result %+v, want 1/subscriber failed, refused", last)
	}
}

// TestUntrustedCertificate: without the CA the handshake fails with its
// x509 reason: 1/tls-certificate fails and the run is unreachable. With
// verification off for the run, every other case runs, and
// 1/tls-certificate still fails with the reason.
func TestUntrustedCertificate(t *testing.T) {
	t.Parallel()
	c := vectors[sign.SchemeCustom]
	cert, _ := selfSigned(t)
	url := serve(t, receiver(t, &c), cert)
	rs, err := check.Run(t.Context(), check.Config{URL: url, Creds: c})
	if !errors.Is(err, check.ErrUnreachable) || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("err = %v, want unreachable with the x509 reason", err)
	}
	if r := byID(rs)["1/tls-certificate"]; r.Grade != check.Fail || !strings.Contains(r.Consequence, "x509: certificate signed by unknown authority") {
		t.Errorf("1/tls-certificate %s %q, want a failure with the x509 reason", r.Grade, r.Consequence)
	}
	rs, err = check.Run(t.Context(), check.Config{URL: url, Creds: c, TLS: &tls.Config{InsecureSkipVerify: true}, Select: []string{"1/tls-", "2/exact-200"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := graded(rs, check.Fail); !slices.Equal(got, []string{"1/tls-certificate"}) {
		t.Errorf("failed %q, want only 1/tls-certificate", got)
	}
}
