package sign

import (
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Fuzz targets. Run one at a time, e.g.
//
//	go test -run '^$' -fuzz FuzzVerifySignature -fuzztime 20s ./internal/sign
//
// Crashers land in testdata/fuzz/<Target>/ and then run as regression tests.

var sentinels = []error{ErrMissing, ErrMalformed, ErrMismatch, ErrStale}

// checkVerify asserts the invariants of one verification: Verify does not
// panic, returns nil or an error wrapping exactly one sentinel, and Explain
// agrees with it and names exactly one failed check.
func checkVerify(t *testing.T, a Auth, h http.Header, now time.Time) {
	t.Helper()
	err := a.Verify(h, nil, now)
	if err != nil {
		n := 0
		for _, s := range sentinels {
			if errors.Is(err, s) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("Verify() = %v: wraps %d sentinels, want exactly one", err, n)
		}
	}
	r := a.Explain(h, nil, now)
	if r.Valid != (err == nil) || (r.Err == nil) != (err == nil) {
		t.Fatalf("Explain().Valid = %t, Verify() = %v: they must agree", r.Valid, err)
	}
	if err != nil && r.Err.Error() != err.Error() {
		t.Fatalf("Explain().Err = %v, Verify() = %v: they must agree", r.Err, err)
	}
	failed := 0
	for _, c := range r.Checks {
		if !c.OK {
			failed++
		}
	}
	if want := map[bool]int{true: 0, false: 1}[err == nil]; failed != want {
		t.Fatalf("Explain() has %d failed checks for Verify() = %v, want %d: %+v", failed, err, want, r.Checks)
	}
}

// fuzzNow maps any int64 to a time an HTTP-date can express (years 1970-9999).
func fuzzNow(sec int64) time.Time {
	const maxSec = 253402300799 // 9999-12-31T23:59:59Z
	if sec < 0 {
		sec = -(sec + 1)
	}
	return time.Unix(sec%(maxSec+1), 0)
}

// verifySeeds adds every vector, and its Date, as a seed.
func verifySeeds(f *testing.F) {
	v := loadVectors(f)
	now := int64(1523546640) // the documented Date
	for _, b := range v.Basic {
		f.Add(b.Value, "", now)
	}
	for _, c := range v.Custom {
		f.Add(c.Value, "", now)
	}
	for _, s := range v.Signature {
		f.Add(s.Value, s.Date, now)
		f.Add(strings.ReplaceAll(s.Value, ",", ", "), s.Date, now)
	}
	for _, b := range v.Bearer {
		f.Add(b.Value, "", b.Exp-60)
	}
	f.Add(`Signature keyId="test",algorithm="hmac-sha1",signature="`, "Thu, 12 Apr 2018 15:24:00 GMT", now)
	f.Add(`Signature keyId="a\"b",algorithm=hmac-sha1`, "Thu, 32 Apr 2018 15:24:00 GMT", now)
	f.Add("Bearer e30.e30.", "", now)
	f.Add("Basic Og==", "", now)
}

func fuzzVerify(f *testing.F, cfg Config) {
	verifySeeds(f)
	a := mustNew(f, cfg)
	f.Fuzz(func(t *testing.T, authz, date string, now int64) {
		h := http.Header{"Authorization": {authz}}
		if date != "" {
			h["Date"] = []string{date}
		}
		checkVerify(t, a, h, fuzzNow(now))
	})
}

func FuzzVerifyBasic(f *testing.F) {
	fuzzVerify(f, Config{Scheme: SchemeBasic, Users: []string{"username", "EventUser"}, Passwords: []string{"secret", "p:ss:word"}})
}

func FuzzVerifyCustom(f *testing.F) {
	fuzzVerify(f, Config{Scheme: SchemeCustom, Name: "Plain", Credentials: []string{"passexample"}})
}

func FuzzVerifySignature(f *testing.F) {
	fuzzVerify(f, Config{Scheme: SchemeSignature, KeyIDs: []string{"test", "pb-prod"}, Keys: []string{"signature_key", "k3y with spaces"}, MaxSkew: DefaultMaxSkew})
}

func FuzzVerifyBearer(f *testing.F) {
	env := int64(3)
	fuzzVerify(f, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}, IEnv: &env, MaxSkew: DefaultMaxSkew})
}

// roundTrip signs with cfg at now, verifies with the same config (must pass)
// and with wrong (must fail with ErrMismatch).
func roundTrip(t *testing.T, cfg, wrong Config, now time.Time) {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Skip(err) // a config New refuses says why; nothing to round-trip
	}
	h := http.Header{}
	if err := a.Sign(h, nil, now); err != nil {
		t.Fatalf("Sign() = %v", err)
	}
	if err := a.Verify(h, nil, now); err != nil {
		t.Fatalf("Verify(Sign()) = %v for %q", err, h.Get(a.Header()))
	}
	checkVerify(t, a, h, now)
	w, err := New(wrong)
	if err != nil {
		return
	}
	if err := w.Verify(h, nil, now); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Verify() with another secret = %v, want ErrMismatch", err)
	}
}

func FuzzSignRoundTripBasic(f *testing.F) {
	for _, b := range loadVectors(f).Basic {
		f.Add(b.User, b.Password, b.Password+"x", int64(0))
	}
	f.Fuzz(func(t *testing.T, user, password, other string, now int64) {
		if other == password {
			other += "x"
		}
		roundTrip(t,
			Config{Scheme: SchemeBasic, Users: []string{user}, Passwords: []string{password}},
			Config{Scheme: SchemeBasic, Users: []string{user}, Passwords: []string{other}},
			fuzzNow(now))
	})
}

func FuzzSignRoundTripCustom(f *testing.F) {
	for _, c := range loadVectors(f).Custom {
		f.Add(c.Scheme, c.Credentials, c.Credentials+"x")
	}
	f.Fuzz(func(t *testing.T, name, credentials, other string) {
		if other == credentials {
			other += "x"
		}
		roundTrip(t,
			Config{Scheme: SchemeCustom, Name: name, Credentials: []string{credentials}},
			Config{Scheme: SchemeCustom, Name: name, Credentials: []string{other}},
			time.Now())
	})
}

// sameHMACKey reports whether two keys are the same HMAC key: HMAC pads a
// key with zero bytes to the block size, so "k" and "k\x00" sign alike.
func sameHMACKey(a, b string) bool {
	return strings.TrimRight(a, "\x00") == strings.TrimRight(b, "\x00")
}

func FuzzSignRoundTripSignature(f *testing.F) {
	for _, s := range loadVectors(f).Signature {
		d, _ := http.ParseTime(s.Date)
		f.Add(s.KeyID, s.Key, s.Key+"x", d.Unix())
	}
	f.Fuzz(func(t *testing.T, keyID, key, other string, now int64) {
		if sameHMACKey(other, key) {
			other = key + "x"
		}
		roundTrip(t,
			Config{Scheme: SchemeSignature, KeyIDs: []string{keyID}, Keys: []string{key}, MaxSkew: DefaultMaxSkew},
			Config{Scheme: SchemeSignature, KeyIDs: []string{keyID}, Keys: []string{other}, MaxSkew: DefaultMaxSkew},
			fuzzNow(now))
	})
}

func FuzzSignRoundTripBearer(f *testing.F) {
	for _, b := range loadVectors(f).Bearer {
		f.Add(b.Key, b.Key+"x", b.IEnv, b.Exp-3600, int64(time.Hour))
	}
	f.Add("k", "l", int64(1<<60+1), int64(1700000000), int64(time.Minute)) // beyond float64's integers
	f.Fuzz(func(t *testing.T, key, other string, iEnv, now int64, ttl int64) {
		if sameHMACKey(other, key) {
			other = key + "x"
		}
		env := iEnv
		lifetime := time.Duration(ttl)
		roundTrip(t,
			Config{Scheme: SchemeBearer, Keys: []string{key}, IEnv: &env, TTL: lifetime, MaxSkew: DefaultMaxSkew},
			Config{Scheme: SchemeBearer, Keys: []string{other}, IEnv: &env, MaxSkew: DefaultMaxSkew},
			fuzzNow(now))
	})
}

// FuzzParseParams: ParseParams never panics, and what it accepts survives
// writing it back out in the canonical form and parsing it again.
func FuzzParseParams(f *testing.F) {
	for _, s := range loadVectors(f).Signature {
		f.Add(strings.TrimPrefix(s.Value, "Signature "))
	}
	for _, s := range []string{`a="1", b="2"`, `a="x\"y\\z"`, `a=1`, `a="1`, `a="1",a="2"`, ` , `, `a="1",`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseParams(s)
		if (got == nil) == (err == nil) {
			t.Fatalf("ParseParams(%q) = (%v, %v): want exactly one of params or error", s, got, err)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrMissing) {
				t.Fatalf("ParseParams(%q) = %v: want ErrMalformed or ErrMissing", s, err)
			}
			return
		}
		var b strings.Builder
		for k, v := range got {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k + `="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`)
		}
		again, err := ParseParams(b.String())
		if err != nil || !maps.Equal(got, again) {
			t.Fatalf("ParseParams(%q) = %v; re-encoded as %q it parses to (%v, %v)", s, got, b.String(), again, err)
		}
	})
}

// FuzzVerifyBearerClaims signs arbitrary JWT header and claims JSON with the
// right key, so that fuzzing reaches the alg, expiry and i_env checks that
// random header values rarely get past the signature to.
func FuzzVerifyBearerClaims(f *testing.F) {
	f.Add(hs256, `{"i_env":3,"Exp":1560342316}`, int64(1560340000))
	f.Add(hs256, `{"i_env":3,"Exp":1560342316,"exp":1560342316,"nbf":1,"iat":1}`, int64(1560340000))
	f.Add(`{"alg":"none"}`, `{"Exp":"soon"}`, int64(0))
	f.Add(`{"alg":"HS256","typ":"JWT"}`, `{"i_env":"3","Exp":1e99}`, int64(1560340000))
	f.Add(hs256, `{"i_env":9007199254740993,"Exp":-1}`, int64(1560340000))
	env := int64(3)
	a := mustNew(f, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}, IEnv: &env, MaxSkew: DefaultMaxSkew})
	f.Fuzz(func(t *testing.T, header, claims string, now int64) {
		h := http.Header{"Authorization": {"Bearer " + jwtHS256(header, claims, "superkey")}}
		checkVerify(t, a, h, fuzzNow(now))
	})
}
