// Package sign produces and verifies the Authorization header values of the
// four ESPF schemes (basic, custom, signature, bearer). Every function takes
// the clock as an argument; nothing here reads the time or prints.
package sign

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors. Every verification failure wraps exactly one of them.
var (
	ErrMissing   = errors.New("missing")   // a required header or parameter is absent
	ErrMalformed = errors.New("malformed") // present but unparseable, or sent twice
	ErrMismatch  = errors.New("mismatch")  // well-formed but wrong: scheme, key id, credentials, signature…
	ErrStale     = errors.New("stale")     // Date beyond the allowed skew, or the token expired
)

// Scheme names, as used by --auth and the scenario's auth.scheme.
const (
	SchemeBasic     = "basic"
	SchemeCustom    = "custom"
	SchemeSignature = "signature"
	SchemeBearer    = "bearer"
)

// Schemes lists the scheme names in the order the documentation presents them.
var Schemes = []string{SchemeBasic, SchemeCustom, SchemeSignature, SchemeBearer}

// DefaultHeader is where PortaBilling puts the credentials unless configured otherwise.
const DefaultHeader = "Authorization"

// DefaultMaxSkew is the default bound on |now - Date| (signature) and the
// clock leeway on token expiry (bearer). Zero turns the check off.
const DefaultMaxSkew = 5 * time.Minute

// Signer sets the auth header (and Date) on an outgoing request.
type Signer interface {
	Sign(h http.Header, body []byte, now time.Time) error
}

// Verifier checks the auth header of an incoming request.
type Verifier interface {
	Verify(h http.Header, body []byte, now time.Time) error
}

// Auth is one configured scheme: it signs, verifies and explains.
type Auth interface {
	Signer
	Verifier
	// Scheme is one of the Scheme* names.
	Scheme() string
	// Header is the name of the header that carries the credentials.
	Header() string
	// Explain verifies like Verify and records every check it made.
	Explain(h http.Header, body []byte, now time.Time) *Result
}

// Check is one thing that verification looked at. Expected and Got are only
// filled in for values that are not secrets.
type Check struct {
	Name     string `json:"name"`
	OK       bool   `json:"ok"`
	Expected string `json:"expected,omitempty"`
	Got      string `json:"got,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// Result is the explanation of one verification.
type Result struct {
	Scheme        string         `json:"scheme"`
	Header        string         `json:"header"`
	Valid         bool           `json:"valid"`
	Reason        string         `json:"reason,omitempty"`
	Checks        []Check        `json:"checks"`
	SigningString *string        `json:"signing_string,omitempty"`
	Date          string         `json:"date,omitempty"`
	SkewSeconds   *float64       `json:"skew_s,omitempty"`
	TokenHeader   map[string]any `json:"token_header,omitempty"`
	TokenClaims   map[string]any `json:"token_claims,omitempty"`
	// ClaimTimes renders the time claims (Exp, exp, iat, nbf) in UTC.
	ClaimTimes map[string]string `json:"claim_times_utc,omitempty"`
	Err        error             `json:"-"`
}

// pass and fail record a check when r is not nil, so that Verify (r == nil)
// does no bookkeeping on the hot path and Explain shares its code.
func (r *Result) pass(name, got, detail string) {
	if r != nil {
		r.Checks = append(r.Checks, Check{Name: name, OK: true, Got: got, Detail: detail})
	}
}

func (r *Result) fail(name, expected, got string, err error) error {
	if r != nil {
		r.Checks = append(r.Checks, Check{Name: name, Expected: expected, Got: got, Detail: err.Error()})
	}
	return err
}

func (r *Result) finish(err error) *Result {
	r.Err = err
	r.Valid = err == nil
	if err != nil {
		r.Reason = err.Error()
	}
	return r
}

// Config configures any scheme; it is what --auth and the credential flags,
// or a scenario's auth block, fill in. Several secrets may be given for key
// rotation: the first one signs, all of them verify.
type Config struct {
	Scheme      string        // basic | custom | signature | bearer
	Users       []string      // basic; paired with Passwords by position (one user may serve many passwords)
	Passwords   []string      // basic (secret)
	Name        string        // custom: the scheme name written before the credentials, e.g. "Plain"
	Credentials []string      // custom (secret)
	KeyIDs      []string      // signature; paired with Keys by position (one id may serve many keys)
	Keys        []string      // signature, bearer (secret)
	IEnv        *int64        // bearer: the i_env claim to sign, and to require when verifying
	Exp         *time.Time    // bearer signing: a fixed expiry (else now + TTL)
	TTL         time.Duration // bearer signing: token lifetime; 0 = 1h
	HeaderName  string        // "" = Authorization
	MaxSkew     time.Duration // signature Date bound and bearer expiry leeway; 0 = off
}

// New builds the Auth that cfg describes, or says which setting is wrong.
func New(cfg Config) (Auth, error) {
	hdr := cfg.HeaderName
	if hdr == "" {
		hdr = DefaultHeader
	}
	if !ValidHeaderName(hdr) {
		return nil, fmt.Errorf("header name %q is not a valid HTTP header name", hdr)
	}
	var (
		a   Auth
		err error
	)
	// Each case assigns through a typed result, so a failed constructor's
	// nil pointer is dropped below instead of becoming a non-nil Auth.
	switch strings.ToLower(cfg.Scheme) {
	case SchemeBasic:
		a, err = toAuth(newBasic(cfg, hdr))
	case SchemeCustom:
		a, err = toAuth(newCustom(cfg, hdr))
	case SchemeSignature:
		a, err = toAuth(newSignature(cfg, hdr))
	case SchemeBearer:
		a, err = toAuth(newBearer(cfg, hdr))
	case "":
		return nil, fmt.Errorf("no auth scheme given; expected one of %s", strings.Join(Schemes, ", "))
	default:
		return nil, fmt.Errorf("unknown auth scheme %q; expected one of %s", cfg.Scheme, strings.Join(Schemes, ", "))
	}
	return a, err
}

// toAuth turns a constructor's (*T, error) into (Auth, error) with a nil
// interface on error.
func toAuth[T Auth](a T, err error) (Auth, error) {
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Detect names the scheme of an auth header value: Basic, Signature and
// Bearer by their prefix, anything else is custom.
func Detect(value string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(value), " ")
	switch strings.ToLower(name) {
	case "basic":
		return SchemeBasic
	case "signature":
		return SchemeSignature
	case "bearer":
		return SchemeBearer
	}
	return SchemeCustom
}

// pair matches ids (users, key ids) to secrets by position; a single id
// serves every secret.
func pair(what, idName string, ids, secrets []string) ([]string, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%s: no %s given", what, secretName(what))
	}
	for i, s := range secrets {
		if s == "" {
			return nil, fmt.Errorf("%s: %s #%d is empty", what, secretName(what), i+1)
		}
	}
	switch {
	case len(ids) == 0:
		return nil, fmt.Errorf("%s: no %s given", what, idName)
	case len(ids) == 1:
		out := make([]string, len(secrets))
		for i := range out {
			out[i] = ids[0]
		}
		return out, nil
	case len(ids) == len(secrets):
		return ids, nil
	}
	return nil, fmt.Errorf("%s: %d %ss for %d %ss; give one, or one per %s", what, len(ids), idName, len(secrets), secretName(what), secretName(what))
}

func secretName(scheme string) string {
	switch scheme {
	case SchemeBasic:
		return "password"
	case SchemeCustom:
		return "credentials"
	}
	return "key"
}

// authValue returns the single value of the auth header.
func authValue(h http.Header, name string, r *Result) (string, error) {
	vs := h.Values(name)
	switch {
	case len(vs) == 0 || (len(vs) == 1 && strings.TrimSpace(vs[0]) == ""):
		return "", r.fail("header", name, "", fmt.Errorf("%w: no %s header", ErrMissing, name))
	case len(vs) > 1:
		return "", r.fail("header", "one "+name+" header", fmt.Sprintf("%d headers", len(vs)), fmt.Errorf("%w: %d %s headers, want exactly one", ErrMalformed, len(vs), name))
	}
	r.pass("header", name, "")
	return vs[0], nil
}

// splitScheme splits "<Scheme> <rest>" at the first space and checks the
// scheme name (case-insensitively, RFC 9110 §11.1).
func splitScheme(value, want string, r *Result) (string, error) {
	name, rest, ok := strings.Cut(value, " ")
	if !strings.EqualFold(name, want) {
		switch {
		case !ok:
			return "", r.fail("scheme", want, "(none)", fmt.Errorf("%w: scheme %q, want %q", ErrMismatch, "(none)", want))
		case wellKnownScheme(name):
			return "", r.fail("scheme", want, name, fmt.Errorf("%w: scheme %q, want %q", ErrMismatch, name, want))
		}
		return "", r.fail("scheme", want, "(not shown)", fmt.Errorf("%w: the header starts with a %d-character word that is no known scheme name (not shown: it may be a secret), want %q",
			ErrMismatch, len(name), want))
	}
	if strings.TrimSpace(rest) == "" {
		return "", r.fail("scheme", want, name, fmt.Errorf("%w: nothing after the scheme name %q", ErrMissing, name))
	}
	r.pass("scheme", name, "")
	return rest, nil
}

// wellKnownSchemes are the scheme names a mismatch may quote. Any other
// first word is not shown: a sender that puts the credentials first (or
// alone, with a space inside) would have its secret quoted.
var wellKnownSchemes = []string{"Basic", "Bearer", "Signature", "Digest", "Negotiate", "NTLM", "HOBA", "Mutual",
	"AWS4-HMAC-SHA256", "Token", "Plain", "ApiKey", "HMAC", "Hawk", "DPoP", "OAuth", "SCRAM-SHA-1", "SCRAM-SHA-256"}

// wellKnownScheme reports whether name is a scheme name a message may quote.
func wellKnownScheme(name string) bool {
	_, ok := WellKnownScheme(name)
	return ok
}

// WellKnownScheme reports whether name (in any case) is one of the
// authorization scheme names that messages and serve's raw capture may
// show, and returns it as registered ("basic" gives "Basic"). Any other
// word in a credential header may be the secret itself.
func WellKnownScheme(name string) (string, bool) {
	for _, k := range wellKnownSchemes {
		if strings.EqualFold(name, k) {
			return k, true
		}
	}
	return "", false
}

// matchAny compares got with every candidate in constant time (no early
// exit, so timing does not tell which one matched) and returns the index of
// the first match, or -1.
func matchAny(got []byte, candidates [][]byte) int {
	idx := -1
	for i, c := range candidates {
		if hmac.Equal(got, c) && idx < 0 {
			idx = i
		}
	}
	return idx
}

// ValidHeaderName reports whether s is an RFC 9110 token, what net/http
// accepts as a header name: the credential header, -H names and the
// inspector's edited headers are all checked here.
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// ParseDate returns the request's single Date header as a time.
func ParseDate(h http.Header) (string, time.Time, error) {
	vs := h.Values("Date")
	switch {
	case len(vs) == 0:
		return "", time.Time{}, fmt.Errorf("%w: no Date header", ErrMissing)
	case len(vs) > 1:
		return "", time.Time{}, fmt.Errorf("%w: %d Date headers, want exactly one", ErrMalformed, len(vs))
	}
	t, err := http.ParseTime(vs[0])
	if err != nil {
		return vs[0], time.Time{}, fmt.Errorf("%w: Date %q is not an HTTP-date such as %q", ErrMalformed, vs[0], "Thu, 12 Apr 2018 15:24:00 GMT")
	}
	return vs[0], t, nil
}

// setDate writes the Date header the way the ESPF does (IMF-fixdate, UTC).
func setDate(h http.Header, now time.Time) {
	h.Set("Date", now.UTC().Format(http.TimeFormat))
}
