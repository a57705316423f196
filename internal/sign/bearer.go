package sign

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(b.leeway),
		jwt.WithJSONNumber(), // exact integers: an i_env or Exp beyond 2^53 survives
	)
	// One parse decodes, checks the alg, the signature and the standard
	// time claims; the token's header and claims are kept for the checks
	// below even when it fails.
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
	if err != nil {
		return b.claimsError(claims, now, err, r)
	}

	exp, hasExp, err := numericClaim(claims, "Exp")
	if err != nil {
		return r.fail("Exp", "a number (Unix seconds)", fmt.Sprint(claims["Exp"]), err)
	}
	_, hasStd := claims["exp"]
	switch {
	case hasExp:
		t := time.Unix(exp, 0).UTC()
		if now.After(t.Add(b.leeway)) {
			return r.fail("Exp", fmt.Sprintf("after %s", now.UTC().Format(time.RFC3339)), t.Format(time.RFC3339),
				fmt.Errorf("%w: token expired at %s (Exp %d), %s ago", ErrStale, t.Format(time.RFC3339), exp, now.Sub(t).Round(time.Second)))
		}
		r.pass("Exp", t.Format(time.RFC3339), fmt.Sprintf("expires in %s", t.Sub(now).Round(time.Second)))
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
			when, raw = time.Unix(n, 0).UTC().Format(time.RFC3339), strconv.FormatInt(n, 10)
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
			out[name] = time.Unix(n, 0).UTC().Format(time.RFC3339)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
