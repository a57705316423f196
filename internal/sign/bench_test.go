package sign

import (
	"net/http"
	"testing"
	"time"
)

// benchAuths are the four schemes with the documented credentials, plus a
// rotated second key where the scheme allows it (the receiver's common case).
func benchAuths(b *testing.B) map[string]Auth {
	b.Helper()
	env := int64(3)
	cfgs := map[string]Config{
		SchemeBasic:     {Scheme: SchemeBasic, Users: []string{"username"}, Passwords: []string{"secret"}},
		SchemeCustom:    {Scheme: SchemeCustom, Name: "Plain", Credentials: []string{"passexample"}},
		SchemeSignature: {Scheme: SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"signature_key"}, MaxSkew: DefaultMaxSkew},
		SchemeBearer:    {Scheme: SchemeBearer, Keys: []string{"superkey"}, IEnv: &env, MaxSkew: DefaultMaxSkew},
	}
	out := make(map[string]Auth, len(cfgs))
	for name, cfg := range cfgs {
		a, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		out[name] = a
	}
	return out
}

var benchNow = time.Date(2018, 4, 12, 15, 24, 0, 0, time.UTC)

func BenchmarkSign(b *testing.B) {
	auths := benchAuths(b)
	for _, scheme := range Schemes {
		b.Run(scheme, func(b *testing.B) {
			a := auths[scheme]
			h := http.Header{}
			b.ReportAllocs()
			for b.Loop() {
				if err := a.Sign(h, nil, benchNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	auths := benchAuths(b)
	for _, scheme := range Schemes {
		b.Run(scheme, func(b *testing.B) {
			a := auths[scheme]
			h := http.Header{}
			if err := a.Sign(h, nil, benchNow); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := a.Verify(h, nil, benchNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyMismatch is the cost of rejecting a wrong credential, which
// a receiver pays for every bad delivery.
func BenchmarkVerifyMismatch(b *testing.B) {
	auths := benchAuths(b)
	wrong := map[string]string{
		SchemeBasic:     "Basic dXNlcm5hbWU6d3Jvbmc=",
		SchemeCustom:    "Plain wrong",
		SchemeSignature: `Signature keyId="test",algorithm="hmac-sha1",signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA="`,
		SchemeBearer:    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJpX2VudiI6MywiRXhwIjoxNTYwMzQyMzE2fQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	}
	for _, scheme := range Schemes {
		b.Run(scheme, func(b *testing.B) {
			a := auths[scheme]
			h := http.Header{}
			h.Set("Date", benchNow.Format(http.TimeFormat))
			h.Set("Authorization", wrong[scheme])
			b.ReportAllocs()
			for b.Loop() {
				if err := a.Verify(h, nil, benchNow); err == nil {
					b.Fatal("verified a wrong credential")
				}
			}
		})
	}
}
