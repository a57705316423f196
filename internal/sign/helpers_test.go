package sign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// failCase is one verification: the header lines given, the sentinel the
// error must wrap (nil = valid), and the name of the check that Explain
// reports as failed.
type failCase struct {
	name    string
	auth    Auth
	header  http.Header
	now     time.Time
	wantErr error
	check   string // the failing check's name ("" when valid)
	msg     string // a substring of the error message, if any
}

// hdr builds a header from name, value pairs; a name may repeat.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func mustNew(t testing.TB, cfg Config) Auth {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg.Scheme, err)
	}
	return a
}

func runFailCases(t *testing.T, cases []failCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.auth.Verify(tc.header, nil, tc.now)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify() = %v, want valid", err)
				}
			} else if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Verify() = %v, want an error wrapping %v", err, tc.wantErr)
			}
			if tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)) {
				t.Errorf("Verify() = %v, want a message containing %q", err, tc.msg)
			}
			r := tc.auth.Explain(tc.header, nil, tc.now)
			if r.Valid != (tc.wantErr == nil) {
				t.Errorf("Explain().Valid = %t, want %t (reason %q)", r.Valid, tc.wantErr == nil, r.Reason)
			}
			if (err == nil) != (r.Err == nil) || (err != nil && err.Error() != r.Err.Error()) {
				t.Errorf("Explain().Err = %v, Verify() = %v: they must agree", r.Err, err)
			}
			if got := failedCheck(r); got != tc.check {
				t.Errorf("failed check = %q, want %q (checks %+v)", got, tc.check, r.Checks)
			}
			if r.Scheme != tc.auth.Scheme() || r.Header != tc.auth.Header() {
				t.Errorf("Explain() scheme/header = %q/%q, want %q/%q", r.Scheme, r.Header, tc.auth.Scheme(), tc.auth.Header())
			}
		})
	}
}

// failedCheck is the name of the one failed check, or "" if all passed.
func failedCheck(r *Result) string {
	name, n := "", 0
	for _, c := range r.Checks {
		if !c.OK {
			name = c.Name
			n++
		}
	}
	if n > 1 {
		return "several failed checks"
	}
	return name
}

// checkNamed returns the check called name.
func checkNamed(r *Result, name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// jwtHS256 builds a JWT from raw JSON, independently of bearer.go.
func jwtHS256(header, claims, key string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

// jwtWithSig builds a JWT with an arbitrary signature part.
func jwtWithSig(header, claims, sig string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims)) + "." + sig
}
