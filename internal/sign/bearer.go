package sign

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Bearer is "Bearer <JWT>", HS256 with the configured key. PortaBilling's
// token has the header {"alg":"HS256"} (no typ) and the claims
// {"i_env":N,"Exp":unix} in that order, with a capital E that standard JWT
// libraries do not check: Verify checks Exp itself, and a standard exp too.
type Bearer struct {
	header  string
	keys    [][]byte
	iEnv    *int64
	exp     *time.Time
	ttl     time.Duration
	leeway  time.Duration
	keyFunc jwt.Keyfunc // returns every key (a jwt.VerificationKeySet): rotation
	headEnc string
}

// DefaultTTL is a signed token's lifetime when neither Exp nor TTL is set.
const DefaultTTL = time.Hour

func newBearer(cfg Config, hdr string) (*Bearer, error) {
	if len(cfg.Keys) == 0 {
		return nil, fmt.Errorf("bearer: no key given")
	}
	b := &Bearer{header: hdr, iEnv: cfg.IEnv, exp: cfg.Exp, ttl: cfg.TTL, leeway: cfg.MaxSkew,
		headEnc: base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256"}`))}
	var keySet jwt.VerificationKeySet
	if b.ttl <= 0 {
		b.ttl = DefaultTTL
	}
	for i, k := range cfg.Keys {
		if k == "" {
			return nil, fmt.Errorf("bearer: key #%d is empty", i+1)
		}
		b.keys = append(b.keys, []byte(k))
		keySet.Keys = append(keySet.Keys, []byte(k))
	}
	var boxed any = keySet
	b.keyFunc = func(*jwt.Token) (any, error) { return boxed, nil }
	return b, nil
}

func (b *Bearer) Scheme() string { return SchemeBearer }
func (b *Bearer) Header() string { return b.header }

// Token builds the JWT byte for byte as PortaBilling does, signed with the
// first key, expiring at exp.
func (b *Bearer) Token(exp time.Time) (string, error) {
	claims := make([]byte, 0, 48)
	claims = append(claims, '{')
	if b.iEnv != nil {
		claims = append(claims, `"i_env":`...)
		claims = strconv.AppendInt(claims, *b.iEnv, 10)
		claims = append(claims, ',')
	}
	claims = append(claims, `"Exp":`...)
	claims = strconv.AppendInt(claims, exp.Unix(), 10)
	claims = append(claims, '}')
	signing := b.headEnc + "." + base64.RawURLEncoding.EncodeToString(claims)
	sig, err := jwt.SigningMethodHS256.Sign(signing, b.keys[0])
	if err != nil {
		return "", fmt.Errorf("bearer: sign token: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// Expiry is when a token signed at now expires: the fixed Exp, or now + TTL.
func (b *Bearer) Expiry(now time.Time) time.Time {
	if b.exp != nil {
		return *b.exp
	}
	return now.Add(b.ttl)
}

func (b *Bearer) Sign(h http.Header, _ []byte, now time.Time) error {
	tok, err := b.Token(b.Expiry(now))
	if err != nil {
		return err
	}
	setDate(h, now)
	h.Set(b.header, "Bearer "+tok)
	return nil
}

func (b *Bearer) Verify(h http.Header, body []byte, now time.Time) error {
	return b.verify(h, now, nil)
}

func (b *Bearer) Explain(h http.Header, body []byte, now time.Time) *Result {
	r := &Result{Scheme: SchemeBearer, Header: b.header}
	return r.finish(b.verify(h, now, r))
}

func (b *Bearer) verify(h http.Header, now time.Time, r *Result) error {
	v, err := authValue(h, b.header, r)
	if err != nil {
		return err
	}
	tok, err := splitScheme(v, "Bearer", r)
	if err != nil {
		return err
	}
	tok = strings.TrimSpace(tok)
	claims := jwt.MapClaims{}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithoutClaimsValidation(), // stdClaims checks exp and nbf without overflowing
		jwt.WithJSONNumber(),          // exact integers: an i_env or Exp beyond 2^53 survives
	)
	// One parse decodes, checks the alg and the signature; the token's
	// header and claims are kept for the checks below even when it fails.
	token, err := parser.ParseWithClaims(tok, claims, b.keyFunc)
	if errors.Is(err, jwt.ErrTokenMalformed) || token == nil || token.Header == nil {
		return r.fail("token", "header.claims.signature (base64url JSON)", "", fmt.Errorf("%w: token: %w", ErrMalformed, err))
	}
	if r != nil {
		r.TokenHeader = token.Header
		r.TokenClaims = claims
		r.ClaimTimes = claimTimes(claims)
	}
	alg, _ := token.Header["alg"].(string)
	if alg != jwt.SigningMethodHS256.Alg() {
		return r.fail("alg", "HS256", alg, fmt.Errorf("%w: token alg %q is not accepted; only HS256 is", ErrMismatch, alg))
	}
	r.pass("alg", alg, "")
	if errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		return r.fail("token_signature", "", "", fmt.Errorf("%w: token signature does not verify with the configured key: %w", ErrMismatch, err))
	}
	if err != nil && !errors.Is(err, jwt.ErrTokenInvalidClaims) {
		return r.fail("token", "", "", fmt.Errorf("%w: %w", ErrMismatch, err))
	}
	r.pass("token_signature", "", "HS256 signature verifies")
	if err = b.stdClaims(claims, now); err != nil {
		return b.claimsError(claims, now, err, r)
	}

	exp, hasExp, err := numericClaim(claims, "Exp")
	if err != nil {
		return r.fail("Exp", "a number (Unix seconds)", fmt.Sprint(claims["Exp"]), err)
	}
	_, hasStd := claims["exp"]
	switch {
	case hasExp:
		t := unixUTC(exp)
		if expired(exp, now, b.leeway) {
			return r.fail("Exp", fmt.Sprintf("after %s", now.UTC().Format(time.RFC3339)), t.Format(time.RFC3339),
				fmt.Errorf("%w: token expired at %s (Exp %d), %s", ErrStale, t.Format(time.RFC3339), exp, ago(exp, now)))
		}
		r.pass("Exp", t.Format(time.RFC3339), expiresIn(exp, now))
	case hasStd:
		r.pass("exp", r.claimTime("exp"), "standard exp checked; PortaBilling's Exp is absent")
	default:
		return r.fail("Exp", "an Exp (or exp) claim", "none", fmt.Errorf("%w: token has no expiry: neither Exp nor exp claim", ErrMissing))
	}
	if hasExp && hasStd {
		r.pass("exp", r.claimTime("exp"), "")
	}

	if b.iEnv != nil {
		env, ok, err := numericClaim(claims, "i_env")
		want := strconv.FormatInt(*b.iEnv, 10)
		switch {
		case err != nil:
			return r.fail("i_env", want, fmt.Sprint(claims["i_env"]), err)
		case !ok:
			return r.fail("i_env", want, "none", fmt.Errorf("%w: token has no i_env claim, want %s", ErrMissing, want))
		case env != *b.iEnv:
			return r.fail("i_env", want, strconv.FormatInt(env, 10), fmt.Errorf("%w: i_env %d, want %s", ErrMismatch, env, want))
		}
		r.pass("i_env", want, "")
	}
	return nil
}

// stdClaims checks the standard time claims as the JWT library would (exp
// and nbf, with the leeway), comparing seconds as integers so that a claim
// beyond year 9999 does not overflow into the past. Its errors carry the
// library's sentinels, for claimsError.
func (b *Bearer) stdClaims(c jwt.MapClaims, now time.Time) error {
	for _, name := range []string{"exp", "nbf", "iat"} {
		v, ok := c[name]
		if !ok {
			continue
		}
		if _, isNum := v.(json.Number); !isNum {
			return fmt.Errorf("%w: %w: %s", jwt.ErrTokenInvalidClaims, jwt.ErrInvalidType, name)
		}
	}
	if n, ok := stdSeconds(c, "exp"); ok && expired(n, now, b.leeway) {
		return fmt.Errorf("%w: %w", jwt.ErrTokenInvalidClaims, jwt.ErrTokenExpired)
	}
	if n, ok := stdSeconds(c, "nbf"); ok && notYet(n, now.Add(b.leeway)) {
		return fmt.Errorf("%w: %w", jwt.ErrTokenInvalidClaims, jwt.ErrTokenNotValidYet)
	}
	return nil
}

// stdSeconds reads a standard NumericDate claim (an integer or a decimal
// number of seconds), clamped to int64.
func stdSeconds(c jwt.MapClaims, name string) (int64, bool) {
	num, ok := c[name].(json.Number)
	if !ok {
		return 0, false
	}
	if n, err := num.Int64(); err == nil {
		return n, true
	}
	f, err := num.Float64()
	if err != nil {
		return 0, false
	}
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64, true
	case f <= math.MinInt64:
		return math.MinInt64, true
	}
	return int64(math.Floor(f)), true
}

// claimsError explains why the JWT library rejected the standard time claims
// (exp, nbf, iat). Both ErrStale and the library's sentinel stay in the chain.
func (b *Bearer) claimsError(claims jwt.MapClaims, now time.Time, err error, r *Result) error {
	for _, c := range [...]struct {
		name string
		is   error
		what string
	}{
		{"exp", jwt.ErrTokenExpired, "expired at"},
		{"nbf", jwt.ErrTokenNotValidYet, "is not valid before"},
		{"iat", jwt.ErrTokenUsedBeforeIssued, "was issued in the future, at"},
	} {
		n, ok, nerr := numericClaim(claims, c.name)
		if _, isNum := claims[c.name].(json.Number); ok && !isNum {
			return r.fail(c.name, "a number (Unix seconds)", fmt.Sprint(claims[c.name]), fmt.Errorf("%w: claim %s is %v, want a number: %w", ErrMalformed, c.name, claims[c.name], err))
		}
		if !errors.Is(err, c.is) {
			continue
		}
		when, raw := fmt.Sprint(claims[c.name]), fmt.Sprint(claims[c.name])
		if nerr == nil {
			when, raw = unixUTC(n).Format(time.RFC3339), strconv.FormatInt(n, 10)
		}
		want := "after " + now.UTC().Format(time.RFC3339)
		if c.name != "exp" {
			want = "before " + now.UTC().Format(time.RFC3339)
		}
		return r.fail(c.name, want, when, fmt.Errorf("%w: %w: token %s %s (%s %s, now %s, leeway %s)",
			ErrStale, c.is, c.what, when, c.name, raw, now.UTC().Format(time.RFC3339), b.leeway))
	}
	return r.fail("claims", "", "", fmt.Errorf("%w: %w", ErrMismatch, err))
}

func (r *Result) claimTime(name string) string {
	if r == nil {
		return ""
	}
	return r.ClaimTimes[name]
}

// numericClaim reads an integer claim (claims decode with json.Number).
func numericClaim(c jwt.MapClaims, name string) (int64, bool, error) {
	v, ok := c[name]
	if !ok {
		return 0, false, nil
	}
	num, isNum := v.(json.Number)
	if !isNum {
		return 0, true, fmt.Errorf("%w: claim %s is %v, want an integer", ErrMalformed, name, v)
	}
	n, err := num.Int64()
	if err != nil {
		return 0, true, fmt.Errorf("%w: claim %s is %v, want an integer", ErrMalformed, name, v)
	}
	return n, true, nil
}

// claimTimes renders the time claims in UTC for an explanation.
func claimTimes(c jwt.MapClaims) map[string]string {
	out := map[string]string{}
	for _, name := range []string{"Exp", "exp", "iat", "nbf"} {
		if n, ok, err := numericClaim(c, name); ok && err == nil {
			out[name] = unixUTC(n).Format(time.RFC3339)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Unix seconds that a time.Time can hold and RFC 3339 can print: year 1 to
// year 9999. time.Unix overflows far beyond them (an Exp of 2^63-1 would
// become a time in the past), so claims are compared as integers and only
// clamped for display.
const (
	minUnix = -62135596800 // 0001-01-01T00:00:00Z
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

// unixUTC is the claim n as a time, clamped to years 1..9999.
func unixUTC(n int64) time.Time {
	return time.Unix(min(max(n, minUnix), maxUnix), 0).UTC()
}

// expired reports whether a token whose Exp is exp has expired at now,
// given the leeway. An Exp beyond year 9999 never expires (time.Unix would
// overflow it into the past) and one before year 1 always has.
func expired(exp int64, now time.Time, leeway time.Duration) bool {
	switch {
	case exp > maxUnix:
		return false
	case exp < minUnix:
		return true
	}
	return now.After(time.Unix(exp, 0).Add(leeway))
}

const century = 100 * 365 * 24 * time.Hour

// ago says how long ago an expired Exp was.
func ago(exp int64, now time.Time) string {
	if exp < now.Unix()-int64(century/time.Second) {
		return "more than 100 years ago"
	}
	return time.Unix(exp, 0).Sub(now).Abs().Round(time.Second).String() + " ago"
}

// notYet reports whether a token that is valid from nbf is not valid at t.
func notYet(nbf int64, t time.Time) bool {
	switch {
	case nbf > maxUnix:
		return true
	case nbf < minUnix:
		return false
	}
	return time.Unix(nbf, 0).After(t)
}

// expiresIn describes how long a valid Exp has left.
func expiresIn(exp int64, now time.Time) string {
	if exp > now.Unix()+int64(century/time.Second) {
		return fmt.Sprintf("expires in more than 100 years (Exp %d)", exp)
	}
	return fmt.Sprintf("expires in %s", time.Unix(exp, 0).Sub(now).Round(time.Second))
}
