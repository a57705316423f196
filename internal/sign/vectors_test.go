package sign

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type vectors struct {
	Basic []struct {
		User, Password, Value string
	}
	Custom []struct {
		Scheme, Credentials, Value string
	}
	Signature []struct {
		KeyID string `json:"key_id"`
		Key   string
		Date  string
		Value string
	}
	Bearer []struct {
		Key   string
		IEnv  int64 `json:"i_env"`
		Exp   int64
		Value string
	}
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Basic) == 0 || len(v.Custom) == 0 || len(v.Signature) == 0 || len(v.Bearer) == 0 {
		t.Fatal("vectors.json lacks a scheme")
	}
	return v
}

// vectorCase is one known answer: the Auth that should produce value at now.
type vectorCase struct {
	name  string
	auth  Auth
	now   time.Time
	value string
}

func vectorCases(t *testing.T) []vectorCase {
	v := loadVectors(t)
	var out []vectorCase
	must := func(cfg Config) Auth {
		t.Helper()
		a, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, b := range v.Basic {
		out = append(out, vectorCase{"basic/" + b.User, must(Config{Scheme: "basic", Users: []string{b.User}, Passwords: []string{b.Password}}), time.Now(), b.Value})
	}
	for _, c := range v.Custom {
		out = append(out, vectorCase{"custom/" + c.Scheme, must(Config{Scheme: "custom", Name: c.Scheme, Credentials: []string{c.Credentials}}), time.Now(), c.Value})
	}
	for _, s := range v.Signature {
		now, err := http.ParseTime(s.Date)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, vectorCase{"signature/" + s.KeyID, must(Config{Scheme: "signature", KeyIDs: []string{s.KeyID}, Keys: []string{s.Key}, MaxSkew: DefaultMaxSkew}), now, s.Value})
	}
	for _, b := range v.Bearer {
		env, exp := b.IEnv, time.Unix(b.Exp, 0)
		out = append(out, vectorCase{"bearer/" + b.Key, must(Config{Scheme: "bearer", Keys: []string{b.Key}, IEnv: &env, Exp: &exp, MaxSkew: DefaultMaxSkew}), exp.Add(-time.Hour), b.Value})
	}
	return out
}

func TestVectorsSign(t *testing.T) {
	for _, tc := range vectorCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if err := tc.auth.Sign(h, nil, tc.now); err != nil {
				t.Fatal(err)
			}
			if got := h.Get("Authorization"); got != tc.value {
				t.Errorf("Sign() Authorization = %q, want %q", got, tc.value)
			}
			if got, want := h.Get("Date"), tc.now.UTC().Format(http.TimeFormat); got != want {
				t.Errorf("Sign() Date = %q, want %q", got, want)
			}
		})
	}
}

func TestVectorsVerify(t *testing.T) {
	for _, tc := range vectorCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("Authorization", tc.value)
			h.Set("Date", tc.now.UTC().Format(http.TimeFormat))
			if err := tc.auth.Verify(h, nil, tc.now); err != nil {
				t.Errorf("Verify(%q) = %v, want nil", tc.value, err)
			}
			if r := tc.auth.Explain(h, nil, tc.now); !r.Valid || r.Err != nil {
				t.Errorf("Explain(%q) = invalid (%v), want valid", tc.value, r.Err)
			}
			if got := Detect(tc.value); got != tc.auth.Scheme() {
				t.Errorf("Detect(%q) = %q, want %q", tc.value, got, tc.auth.Scheme())
			}
		})
	}
}
