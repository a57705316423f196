package sign

import (
	"errors"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	docDate  = "Thu, 12 Apr 2018 15:24:00 GMT"
	docSig   = "+IkiEg9UkyA+gh+pcI64itisKhs="
	docValue = `Signature keyId="test",algorithm="hmac-sha1",signature="` + docSig + `"`
)

func TestSignatureVerify(t *testing.T) {
	t.Parallel()
	now, _ := http.ParseTime(docDate)
	a := mustNew(t, Config{Scheme: SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"signature_key"}, MaxSkew: DefaultMaxSkew})
	noSkew := mustNew(t, Config{Scheme: SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"signature_key"}})
	rotated := mustNew(t, Config{Scheme: SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"new_key", "signature_key"}, MaxSkew: DefaultMaxSkew})
	twoIDs := mustNew(t, Config{Scheme: SchemeSignature, KeyIDs: []string{"next", "test"}, Keys: []string{"new_key", "signature_key"}, MaxSkew: DefaultMaxSkew})
	xauth := mustNew(t, Config{Scheme: SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"signature_key"}, HeaderName: "X-Auth", MaxSkew: DefaultMaxSkew})
	sig := func(params string) http.Header { return hdr("Authorization", "Signature "+params, "Date", docDate) }
	at := func(d time.Duration) time.Time { return now.Add(d) }
	runFailCases(t, []failCase{
		{name: "documented example", auth: a, header: hdr("Authorization", docValue, "Date", docDate), now: now},
		{name: "params in another order", auth: a, header: sig(`signature="` + docSig + `",keyId="test",algorithm="hmac-sha1"`), now: now},
		{name: "params with spaces after the commas", auth: a, header: sig(`keyId="test", algorithm="hmac-sha1",  signature="` + docSig + `"`), now: now},
		{name: "params with spaces around the commas", auth: a, header: sig(`algorithm="hmac-sha1" , signature="` + docSig + `" ,keyId="test"`), now: now},
		{name: "algorithm in capitals", auth: a, header: sig(`keyId="test",algorithm="HMAC-SHA1",signature="` + docSig + `"`), now: now},
		{name: "headers parameter is ignored", auth: a, header: sig(`keyId="test",algorithm="hmac-sha1",headers="date",signature="` + docSig + `"`), now: now},
		{name: "missing header", auth: a, header: hdr("Date", docDate), now: now, wantErr: ErrMissing, check: "header"},
		{name: "two headers", auth: a, header: hdr("Authorization", docValue, "Authorization", docValue, "Date", docDate), now: now, wantErr: ErrMalformed, check: "header"},
		{name: "wrong scheme name", auth: a, header: hdr("Authorization", "Signatures "+docValue[len("Signature "):], "Date", docDate), now: now, wantErr: ErrMismatch, check: "scheme"},
		{name: "no parameters", auth: a, header: sig(""), now: now, wantErr: ErrMissing, check: "scheme"},
		{name: "missing keyId", auth: a, header: sig(`algorithm="hmac-sha1",signature="` + docSig + `"`), now: now, wantErr: ErrMissing, check: "keyId", msg: "no keyId parameter"},
		{name: "missing algorithm", auth: a, header: sig(`keyId="test",signature="` + docSig + `"`), now: now, wantErr: ErrMissing, check: "algorithm"},
		{name: "missing signature", auth: a, header: sig(`keyId="test",algorithm="hmac-sha1"`), now: now, wantErr: ErrMissing, check: "signature"},
		{name: "duplicate parameter", auth: a, header: sig(`keyId="test",keyId="test",algorithm="hmac-sha1",signature="` + docSig + `"`), now: now, wantErr: ErrMalformed, check: "parameters", msg: "keyId given twice"},
		{name: "unquoted value", auth: a, header: sig(`keyId=test,algorithm="hmac-sha1",signature="` + docSig + `"`), now: now, wantErr: ErrMalformed, check: "parameters", msg: "not quoted"},
		{name: "unterminated quote", auth: a, header: sig(`keyId="test",algorithm="hmac-sha1",signature="` + docSig), now: now, wantErr: ErrMalformed, check: "parameters", msg: "unterminated"},
		{name: "no equals sign", auth: a, header: sig(`keyId`), now: now, wantErr: ErrMalformed, check: "parameters"},
		{name: "no comma between params", auth: a, header: sig(`keyId="test" algorithm="hmac-sha1"`), now: now, wantErr: ErrMalformed, check: "parameters", msg: "expected a comma"},
		{name: "wrong keyId", auth: a, header: sig(`keyId="prod",algorithm="hmac-sha1",signature="` + docSig + `"`), now: now, wantErr: ErrMismatch, check: "key_id", msg: `keyId "prod", want "test"`},
		{name: "wrong algorithm", auth: a, header: sig(`keyId="test",algorithm="hmac-sha256",signature="` + docSig + `"`), now: now, wantErr: ErrMismatch, check: "algorithm", msg: `algorithm "hmac-sha256"`},
		{name: "wrong signature", auth: a, header: sig(`keyId="test",algorithm="hmac-sha1",signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA="`), now: now, wantErr: ErrMismatch, check: "signature", msg: `does not match keyId "test"`},
		{name: "signature not base64", auth: a, header: sig(`keyId="test",algorithm="hmac-sha1",signature="not base64!"`), now: now, wantErr: ErrMalformed, check: "signature"},
		{name: "signature over date: prefix is wrong", auth: a, header: sig(`keyId="test",algorithm="hmac-sha1",signature="` + Sum([]byte("signature_key"), "date: "+docDate) + `"`), now: now, wantErr: ErrMismatch, check: "signature"},
		{name: "the prose's key signature is wrong", auth: a, header: sig(`keyId="test",algorithm="hmac-sha1",signature="` + Sum([]byte("signature"), docDate) + `"`), now: now, wantErr: ErrMismatch, check: "signature"},
		{name: "missing Date", auth: a, header: hdr("Authorization", docValue), now: now, wantErr: ErrMissing, check: "date", msg: "no Date header"},
		{name: "two Dates", auth: a, header: hdr("Authorization", docValue, "Date", docDate, "Date", docDate), now: now, wantErr: ErrMalformed, check: "date", msg: "2 Date headers"},
		{name: "unparseable Date", auth: a, header: hdr("Authorization", docValue, "Date", "2018-04-12T15:24:00Z"), now: now, wantErr: ErrMalformed, check: "date", msg: "not an HTTP-date"},
		{name: "Date at the skew bound, past", auth: a, header: hdr("Authorization", docValue, "Date", docDate), now: at(DefaultMaxSkew)},
		{name: "Date at the skew bound, future", auth: a, header: hdr("Authorization", docValue, "Date", docDate), now: at(-DefaultMaxSkew)},
		{name: "Date beyond the skew, past", auth: a, header: hdr("Authorization", docValue, "Date", docDate), now: at(DefaultMaxSkew + time.Second), wantErr: ErrStale, check: "date", msg: "+5m1s from now"},
		{name: "Date beyond the skew, future", auth: a, header: hdr("Authorization", docValue, "Date", docDate), now: at(-DefaultMaxSkew - time.Second), wantErr: ErrStale, check: "date", msg: "-5m1s from now"},
		{name: "skew 0 turns the bound off", auth: noSkew, header: hdr("Authorization", docValue, "Date", docDate), now: at(24 * 365 * time.Hour)},
		{name: "rotation: second key verifies", auth: rotated, header: hdr("Authorization", docValue, "Date", docDate), now: now},
		{name: "rotation: each key has its id", auth: twoIDs, header: hdr("Authorization", docValue, "Date", docDate), now: now},
		{name: "rotation: a key does not serve another id", auth: twoIDs, header: sig(`keyId="next",algorithm="hmac-sha1",signature="` + docSig + `"`), now: now, wantErr: ErrMismatch, check: "signature"},
		{name: "header name X-Auth", auth: xauth, header: hdr("X-Auth", docValue, "Date", docDate), now: now},
	})
}

func TestSignatureExplain(t *testing.T) {
	t.Parallel()
	now, _ := http.ParseTime(docDate)
	a := mustNew(t, Config{Scheme: SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"signature_key"}, MaxSkew: DefaultMaxSkew})
	r := a.Explain(hdr("Authorization", `Signature keyId="test",algorithm="hmac-sha1",signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA="`, "Date", docDate), nil, now.Add(90*time.Second))
	c, ok := checkNamed(r, "signature")
	if !ok || c.OK || c.Expected != docSig || c.Got != "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" {
		t.Errorf("signature check = %+v, want failed with expected %q", c, docSig)
	}
	if r.SigningString == nil || *r.SigningString != docDate {
		t.Errorf("SigningString = %v, want %q", r.SigningString, docDate)
	}
	if r.SkewSeconds == nil || *r.SkewSeconds != 90 {
		t.Errorf("SkewSeconds = %v, want 90", r.SkewSeconds)
	}
	if strings.Contains(r.Reason, "signature_key") {
		t.Errorf("Reason shows the key: %s", r.Reason)
	}
}

func TestSignatureSignHasNoSpaces(t *testing.T) {
	t.Parallel()
	a := mustNew(t, Config{Scheme: SchemeSignature, KeyIDs: []string{"pb-prod"}, Keys: []string{"k3y with spaces"}})
	h := http.Header{}
	if err := a.Sign(h, nil, time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	v := h.Get("Authorization")
	// A receiver splits at a single space and wants exactly two parts.
	if parts := strings.Split(v, " "); len(parts) != 2 || parts[0] != "Signature" {
		t.Errorf("Sign() = %q: want exactly one space, after the scheme name", v)
	}
	if got := h.Values("Date"); len(got) != 1 || got[0] != "Mon, 23 Nov 2026 01:02:03 GMT" {
		t.Errorf("Sign() Date = %q, want one IMF-fixdate in GMT", got)
	}
}

func TestParseParams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr error
	}{
		{name: "documented", in: `keyId="test",algorithm="hmac-sha1",signature="+Ik="`, want: map[string]string{"keyId": "test", "algorithm": "hmac-sha1", "signature": "+Ik="}},
		{name: "spaces and tabs", in: " a=\"1\" ,\tb=\"2\"  ", want: map[string]string{"a": "1", "b": "2"}},
		{name: "escaped quote and backslash", in: `a="x\"y\\z"`, want: map[string]string{"a": `x"y\z`}},
		{name: "comma inside quotes", in: `a="1,2",b="3"`, want: map[string]string{"a": "1,2", "b": "3"}},
		{name: "empty value", in: `a=""`, want: map[string]string{"a": ""}},
		{name: "trailing comma", in: `a="1",`, want: map[string]string{"a": "1"}},
		{name: "empty", in: "", wantErr: ErrMissing},
		{name: "blank", in: "   ", wantErr: ErrMissing},
		{name: "unquoted", in: `a=1`, wantErr: ErrMalformed},
		{name: "unquoted after a quoted one", in: `a="1",b=2`, wantErr: ErrMalformed},
		{name: "unterminated", in: `a="1`, wantErr: ErrMalformed},
		{name: "escape at the end", in: `a="1\`, wantErr: ErrMalformed},
		{name: "duplicate", in: `a="1",a="2"`, wantErr: ErrMalformed},
		{name: "no name", in: `="1"`, wantErr: ErrMalformed},
		{name: "no equals", in: `abc`, wantErr: ErrMalformed},
		{name: "space in name", in: `a b="1"`, wantErr: ErrMalformed},
		{name: "garbage after value", in: `a="1"x`, wantErr: ErrMalformed},
		{name: "two commas", in: `a="1",,b="2"`, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseParams(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != nil {
					t.Errorf("ParseParams(%q) = (%v, %v), want error %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Errorf("ParseParams(%q) = (%v, %v), want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestVerifyConcurrent: one Auth serves many deliveries at once (the
// receiver's case); run under -race, it shows the pooled HMAC state is safe.
func TestVerifyConcurrent(t *testing.T) {
	t.Parallel()
	now, _ := http.ParseTime(docDate)
	env := int64(3)
	auths := []Auth{
		mustNew(t, Config{Scheme: SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"new_key", "signature_key"}, MaxSkew: DefaultMaxSkew}),
		mustNew(t, Config{Scheme: SchemeBasic, Users: []string{"u"}, Passwords: []string{"p"}}),
		mustNew(t, Config{Scheme: SchemeBearer, Keys: []string{"superkey"}, IEnv: &env}),
	}
	var wg sync.WaitGroup
	for _, a := range auths {
		for g := range 4 {
			wg.Go(func() {
				for i := range 50 {
					h := http.Header{}
					at := now.Add(time.Duration(g*50+i) * time.Second)
					if err := a.Sign(h, nil, at); err != nil {
						t.Error(err)
						return
					}
					if err := a.Verify(h, nil, at); err != nil {
						t.Errorf("%s: Verify(Sign()) = %v", a.Scheme(), err)
						return
					}
					h.Set("Date", at.Add(time.Second).UTC().Format(http.TimeFormat))
					if a.Scheme() == SchemeSignature {
						if err := a.Verify(h, nil, at); !errors.Is(err, ErrMismatch) {
							t.Errorf("signature over another Date: Verify() = %v, want ErrMismatch", err)
							return
						}
					}
				}
			})
		}
	}
	wg.Wait()
}

// The expected signature is a valid credential for its Date: Explain (run
// by whoever holds the key) shows it, the error that receivers log does not.
func TestSignatureExpectedOnlyInExplain(t *testing.T) {
	a := mustNew(t, Config{Scheme: SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"signature_key"}})
	h := http.Header{}
	h.Set("Authorization", `Signature keyId="test",algorithm="hmac-sha1",signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA="`)
	h.Set("Date", docDate)
	now, _ := http.ParseTime(docDate)
	if err := a.Verify(h, nil, now); err == nil || strings.Contains(err.Error(), docSig) {
		t.Errorf("Verify() = %v; want a mismatch that does not name the expected signature", err)
	}
	r := a.Explain(h, nil, now)
	if c := r.Checks[len(r.Checks)-1]; c.Name != "signature" || c.Expected != docSig {
		t.Errorf("Explain() last check = %+v, want signature expected %q", c, docSig)
	}
}
