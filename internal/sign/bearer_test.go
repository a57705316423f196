package sign

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	docToken = "eyJhbGciOiJIUzI1NiJ9.eyJpX2VudiI6MywiRXhwIjoxNTYwMzQyMzE2fQ.PONYERv3xYs5g--XwbflOcaWddSuUNt7hAQqvoEcO4Q"
	docExp   = 1560342316 // 2019-06-12T12:25:16Z
	hs256    = `{"alg":"HS256"}`
)

func TestBearerVerify(t *testing.T) {
	t.Parallel()
	env := int64(3)
	before := time.Unix(1560340000, 0)
	after := time.Unix(docExp+3600, 0)
	a := mustNew(t, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}, MaxSkew: DefaultMaxSkew})
	withEnv := mustNew(t, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}, IEnv: &env, MaxSkew: DefaultMaxSkew})
	exact := mustNew(t, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}})
	rotated := mustNew(t, Config{Scheme: SchemeBearer, Keys: []string{"newkey", "superkey"}, MaxSkew: DefaultMaxSkew})
	xauth := mustNew(t, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}, HeaderName: "X-Auth"})
	bearer := func(tok string) map[string][]string { return hdr("Authorization", "Bearer "+tok) }
	tok := func(claims string) string { return jwtHS256(hs256, claims, "superkey") }
	runFailCases(t, []failCase{
		{name: "documented token before Exp", auth: a, header: bearer(docToken), now: before},
		{name: "documented token with i_env checked", auth: withEnv, header: bearer(docToken), now: before},
		{name: "with typ in the header", auth: a, header: bearer(jwtHS256(`{"alg":"HS256","typ":"JWT"}`, `{"Exp":1560342316}`, "superkey")), now: before},
		{name: "missing header", auth: a, header: hdr(), now: before, wantErr: ErrMissing, check: "header"},
		{name: "two headers", auth: a, header: hdr("Authorization", "Bearer "+docToken, "Authorization", "Bearer "+docToken), now: before, wantErr: ErrMalformed, check: "header"},
		{name: "wrong scheme name", auth: a, header: hdr("Authorization", "JWT "+docToken), now: before, wantErr: ErrMismatch, check: "scheme"},
		{name: "empty token", auth: a, header: hdr("Authorization", "Bearer  "), now: before, wantErr: ErrMissing, check: "scheme"},
		{name: "malformed token", auth: a, header: bearer("not-a-jwt"), now: before, wantErr: ErrMalformed, check: "token"},
		{name: "token with bad base64", auth: a, header: bearer("e30.*.x"), now: before, wantErr: ErrMalformed, check: "token"},
		{name: "token with a header that is not JSON", auth: a, header: bearer("bm90IGpzb24.e30.x"), now: before, wantErr: ErrMalformed, check: "token"},
		{name: "alg none", auth: a, header: bearer(jwtWithSig(`{"alg":"none"}`, `{"i_env":3,"Exp":1560342316}`, "")), now: before, wantErr: ErrMismatch, check: "alg", msg: `alg "none" is not accepted`},
		{name: "alg HS512", auth: a, header: bearer(jwtWithSig(`{"alg":"HS512"}`, `{"Exp":1560342316}`, "AAAA")), now: before, wantErr: ErrMismatch, check: "alg", msg: `alg "HS512"`},
		{name: "alg RS256", auth: a, header: bearer(jwtWithSig(`{"alg":"RS256"}`, `{"Exp":1560342316}`, "AAAA")), now: before, wantErr: ErrMismatch, check: "alg", msg: `alg "RS256"`},
		{name: "alg unknown to the JWT library", auth: a, header: bearer(jwtWithSig(`{"alg":"XX1"}`, `{"Exp":1560342316}`, "AAAA")), now: before, wantErr: ErrMismatch, check: "alg", msg: `alg "XX1"`},
		{name: "no alg", auth: a, header: bearer(jwtWithSig(`{}`, `{"Exp":1560342316}`, "AAAA")), now: before, wantErr: ErrMismatch, check: "alg"},
		{name: "bad signature", auth: a, header: bearer(docToken[:len(docToken)-4] + "AAAA"), now: before, wantErr: ErrMismatch, check: "token_signature"},
		{name: "signature not base64url", auth: a, header: bearer(docToken[:len(docToken)-4] + "+/=="), now: before, wantErr: ErrMalformed, check: "token"},
		{name: "wrong key", auth: a, header: bearer(jwtHS256(hs256, `{"i_env":3,"Exp":1560342316}`, "otherkey")), now: before, wantErr: ErrMismatch, check: "token_signature"},
		{name: "tampered claims", auth: a, header: bearer(jwtWithSig(hs256, `{"i_env":4,"Exp":1560342316}`, docToken[strings.LastIndexByte(docToken, '.')+1:])), now: before, wantErr: ErrMismatch, check: "token_signature"},
		{name: "expired Exp", auth: a, header: bearer(docToken), now: after, wantErr: ErrStale, check: "Exp", msg: "expired at 2019-06-12T12:25:16Z"},
		{name: "Exp within the leeway", auth: a, header: bearer(docToken), now: time.Unix(docExp+60, 0)},
		{name: "Exp just past, leeway 0", auth: exact, header: bearer(docToken), now: time.Unix(docExp+1, 0), wantErr: ErrStale, check: "Exp"},
		{name: "Exp not a number", auth: a, header: bearer(tok(`{"Exp":"1560342316"}`)), now: before, wantErr: ErrMalformed, check: "Exp", msg: "want an integer"},
		{name: "Exp not an integer", auth: a, header: bearer(tok(`{"Exp":1560342316.5}`)), now: before, wantErr: ErrMalformed, check: "Exp"},
		{name: "expired standard exp", auth: a, header: bearer(tok(`{"exp":1560342316}`)), now: after, wantErr: ErrStale, check: "exp", msg: "2019-06-12T12:25:16Z"},
		{name: "valid standard exp alone", auth: a, header: bearer(tok(`{"exp":1560342316}`)), now: before},
		{name: "expired standard exp beside a valid Exp", auth: a, header: bearer(tok(`{"Exp":1560342316,"exp":1560300000}`)), now: before, wantErr: ErrStale, check: "exp"},
		{name: "standard exp not a number", auth: a, header: bearer(tok(`{"Exp":1560342316,"exp":"soon"}`)), now: before, wantErr: ErrMalformed, check: "exp"},
		{name: "nbf in the future", auth: a, header: bearer(tok(`{"Exp":1560342316,"nbf":1560341000}`)), now: before, wantErr: ErrStale, check: "nbf"},
		{name: "no expiry at all", auth: a, header: bearer(tok(`{"i_env":3}`)), now: before, wantErr: ErrMissing, check: "Exp", msg: "no expiry"},
		{name: "i_env not checked unless configured", auth: a, header: bearer(tok(`{"i_env":9,"Exp":1560342316}`)), now: before},
		{name: "i_env mismatch", auth: withEnv, header: bearer(tok(`{"i_env":9,"Exp":1560342316}`)), now: before, wantErr: ErrMismatch, check: "i_env", msg: "i_env 9, want 3"},
		{name: "i_env missing", auth: withEnv, header: bearer(tok(`{"Exp":1560342316}`)), now: before, wantErr: ErrMissing, check: "i_env"},
		{name: "i_env not a number", auth: withEnv, header: bearer(tok(`{"i_env":"3","Exp":1560342316}`)), now: before, wantErr: ErrMalformed, check: "i_env"},
		{name: "rotation: second key verifies", auth: rotated, header: bearer(docToken), now: before},
		{name: "rotation: first key verifies", auth: rotated, header: bearer(jwtHS256(hs256, `{"Exp":1560342316}`, "newkey")), now: before},
		{name: "header name X-Auth", auth: xauth, header: hdr("X-Auth", "Bearer "+docToken), now: before},
	})
}

// TestBearerLargeIEnv: an i_env beyond 2^53 (where float64 loses integers)
// signs and verifies exactly.
func TestBearerLargeIEnv(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	for _, env := range []int64{1<<60 + 1, -(1 << 62), 9007199254740993} {
		a := mustNew(t, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}, IEnv: &env})
		h := http.Header{}
		if err := a.Sign(h, nil, now); err != nil {
			t.Fatal(err)
		}
		if err := a.Verify(h, nil, now); err != nil {
			t.Errorf("i_env %d: Verify(Sign()) = %v", env, err)
		}
		other := env - 1
		b := mustNew(t, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}, IEnv: &other})
		if err := b.Verify(h, nil, now); !errors.Is(err, ErrMismatch) {
			t.Errorf("i_env %d checked against %d: Verify() = %v, want ErrMismatch", env, other, err)
		}
	}
}

func TestBearerExpiredIsJWTExpired(t *testing.T) {
	t.Parallel()
	a := mustNew(t, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}})
	err := a.Verify(hdr("Authorization", "Bearer "+jwtHS256(hs256, `{"exp":1560342316}`, "superkey")), nil, time.Unix(docExp+10, 0))
	if !errors.Is(err, ErrStale) || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("Verify() = %v, want both ErrStale and jwt.ErrTokenExpired", err)
	}
}

func TestBearerExplain(t *testing.T) {
	t.Parallel()
	env := int64(3)
	a := mustNew(t, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}, IEnv: &env})
	r := a.Explain(hdr("Authorization", "Bearer "+docToken), nil, time.Unix(docExp+3600, 0))
	if r.Valid {
		t.Fatal("expired token explained as valid")
	}
	if got := r.TokenHeader["alg"]; got != "HS256" || len(r.TokenHeader) != 1 {
		t.Errorf("TokenHeader = %v, want {alg: HS256}", r.TokenHeader)
	}
	if got := r.TokenClaims["i_env"]; got != json.Number("3") {
		t.Errorf("TokenClaims[i_env] = %v, want 3", got)
	}
	if got := r.ClaimTimes["Exp"]; got != "2019-06-12T12:25:16Z" {
		t.Errorf("ClaimTimes[Exp] = %q, want 2019-06-12T12:25:16Z", got)
	}
	if c, _ := checkNamed(r, "token_signature"); !c.OK {
		t.Errorf("token_signature check = %+v, want ok: the signature is fine, only the time is wrong", c)
	}
	if strings.Contains(r.Reason, "superkey") {
		t.Errorf("Reason shows the key: %s", r.Reason)
	}
}

func TestBearerTokenIsDocumented(t *testing.T) {
	t.Parallel()
	env := int64(3)
	exp := time.Unix(docExp, 0)
	b, err := newBearer(Config{Keys: []string{"superkey"}, IEnv: &env, Exp: &exp}, DefaultHeader)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Token(b.Expiry(time.Now()))
	if err != nil || got != docToken {
		t.Errorf("Token() = %q, %v; want %q", got, err, docToken)
	}
	ttl, err := newBearer(Config{Keys: []string{"superkey"}, TTL: 10 * time.Minute}, DefaultHeader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	if got, want := ttl.Expiry(now), now.Add(10*time.Minute); !got.Equal(want) {
		t.Errorf("Expiry() with TTL 10m = %v, want %v", got, want)
	}
	def, _ := newBearer(Config{Keys: []string{"k"}}, DefaultHeader)
	if got, want := def.Expiry(now), now.Add(DefaultTTL); !got.Equal(want) {
		t.Errorf("Expiry() by default = %v, want %v", got, want)
	}
}

// TestBearerFarFutureExp: an Exp of 2^63-1 (or any beyond year 9999) is a
// token that never expires, not one that "expired 2562047h ago"; an Exp
// far in the past is expired, and both print a readable time.
func TestBearerFarFutureExp(t *testing.T) {
	t.Parallel()
	a := mustNew(t, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}, MaxSkew: DefaultMaxSkew})
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		claims  string
		wantErr bool
		detail  string
	}{
		{`{"Exp":9223372036854775807}`, false, "more than 100 years"},
		{`{"Exp":253402300800}`, false, "more than 100 years"},
		{`{"Exp":-9223372036854775808}`, true, "expired at 0001-01-01T00:00:00Z"},
	} {
		h := http.Header{"Authorization": {"Bearer " + jwtHS256(hs256, tt.claims, "superkey")}}
		err := a.Verify(h, nil, now)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: Verify = %v, want error %t", tt.claims, err, tt.wantErr)
		}
		res := a.Explain(h, nil, now)
		text := res.Reason
		for _, c := range res.Checks {
			text += " " + c.Detail + " " + c.Got
		}
		if !strings.Contains(text, tt.detail) || strings.Contains(text, "2562047h") {
			t.Errorf("%s: explanation %q, want %q and no overflowed duration", tt.claims, text, tt.detail)
		}
	}
}

// TestBearerFarFutureStandardExp: the standard exp is checked without the
// JWT library's overflow as well.
func TestBearerFarFutureStandardExp(t *testing.T) {
	t.Parallel()
	a := mustNew(t, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}, MaxSkew: DefaultMaxSkew})
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for claims, wantErr := range map[string]error{
		`{"exp":9223372036854775807}`:                   nil,
		`{"Exp":9999999999,"exp":9223372036854775807}`:  nil,
		`{"Exp":9999999999,"exp":1e300}`:                nil,
		`{"Exp":9999999999,"exp":-9223372036854775808}`: jwt.ErrTokenExpired,
		`{"Exp":9999999999,"nbf":9223372036854775807}`:  jwt.ErrTokenNotValidYet,
		`{"Exp":9999999999,"nbf":-9223372036854775808}`: nil,
		`{"Exp":9999999999,"exp":1796130000.5}`:         nil,
	} {
		h := http.Header{"Authorization": {"Bearer " + jwtHS256(hs256, claims, "superkey")}}
		err := a.Verify(h, nil, now)
		if (wantErr == nil) != (err == nil) || (wantErr != nil && !errors.Is(err, wantErr)) {
			t.Errorf("%s: Verify = %v, want %v", claims, err, wantErr)
		}
	}
}
