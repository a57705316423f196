package sign

import (
	"strings"
	"testing"
)

func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error
	}{
		{"no scheme", Config{}, "no auth scheme given; expected one of basic, custom, signature, bearer"},
		{"unknown scheme", Config{Scheme: "rsa"}, `unknown auth scheme "rsa"`},
		{"bad header name", Config{Scheme: SchemeBasic, Users: []string{"u"}, Passwords: []string{"p"}, HeaderName: "X Auth"}, `header name "X Auth" is not a valid HTTP header name`},
		{"header name with a colon", Config{Scheme: SchemeBasic, Users: []string{"u"}, Passwords: []string{"p"}, HeaderName: "X-Auth:"}, "not a valid HTTP header name"},
		{"basic: no password", Config{Scheme: SchemeBasic, Users: []string{"u"}}, "basic: no password given"},
		{"basic: empty password", Config{Scheme: SchemeBasic, Users: []string{"u"}, Passwords: []string{"p", ""}}, "basic: password #2 is empty"},
		{"basic: no user", Config{Scheme: SchemeBasic, Passwords: []string{"p"}}, "basic: no user given"},
		{"basic: empty user", Config{Scheme: SchemeBasic, Users: []string{""}, Passwords: []string{"p"}}, "basic: user #1 is empty"},
		{"basic: user with a colon", Config{Scheme: SchemeBasic, Users: []string{"a:b"}, Passwords: []string{"p"}}, "contains a colon"},
		{"basic: users and passwords do not pair", Config{Scheme: SchemeBasic, Users: []string{"a", "b"}, Passwords: []string{"p", "q", "r"}}, "2 users for 3 passwords"},
		{"custom: no name", Config{Scheme: SchemeCustom, Credentials: []string{"c"}}, "custom: no scheme name given"},
		{"custom: name with a space", Config{Scheme: SchemeCustom, Name: "My Plain", Credentials: []string{"c"}}, "contains whitespace"},
		{"custom: no credentials", Config{Scheme: SchemeCustom, Name: "Plain"}, "custom: no credentials given"},
		{"custom: empty credentials", Config{Scheme: SchemeCustom, Name: "Plain", Credentials: []string{""}}, "credentials #1 are empty"},
		{"custom: credentials with a line break", Config{Scheme: SchemeCustom, Name: "Plain", Credentials: []string{"a\nb"}}, "contain a line break"},
		{"custom: blank credentials", Config{Scheme: SchemeCustom, Name: "Plain", Credentials: []string{" "}}, "start or end with whitespace"},
		{"custom: credentials with a trailing space", Config{Scheme: SchemeCustom, Name: "Plain", Credentials: []string{"abc "}}, "start or end with whitespace"},
		{"signature: no key", Config{Scheme: SchemeSignature, KeyIDs: []string{"test"}}, "signature: no key given"},
		{"signature: empty key", Config{Scheme: SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{""}}, "key #1 is empty"},
		{"signature: no key id", Config{Scheme: SchemeSignature, Keys: []string{"k"}}, "signature: no key id given"},
		{"signature: key id with a quote", Config{Scheme: SchemeSignature, KeyIDs: []string{`a"b`}, Keys: []string{"k"}}, "must be non-empty and contain no quote"},
		{"signature: empty key id", Config{Scheme: SchemeSignature, KeyIDs: []string{"a", ""}, Keys: []string{"k", "l"}}, "must be non-empty"},
		{"bearer: no key", Config{Scheme: SchemeBearer}, "bearer: no key given"},
		{"bearer: empty key", Config{Scheme: SchemeBearer, Keys: []string{"k", ""}}, "bearer: key #2 is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() = (%v, %v), want an error containing %q", a, err, tt.want)
			}
			if a != nil {
				t.Errorf("New() returned an Auth with the error %v", err)
			}
		})
	}
}

func TestNewSchemeNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"basic", "BASIC", "Basic"} {
		a, err := New(Config{Scheme: name, Users: []string{"u"}, Passwords: []string{"p"}})
		if err != nil || a.Scheme() != SchemeBasic || a.Header() != DefaultHeader {
			t.Errorf("New(scheme %q) = %v, %v; want basic in Authorization", name, a, err)
		}
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]string{
		"Basic x":                SchemeBasic,
		"basic x":                SchemeBasic,
		`Signature keyId="a"`:    SchemeSignature,
		"Bearer e.e.e":           SchemeBearer,
		"  Bearer e.e.e":         SchemeBearer,
		"Plain passexample":      SchemeCustom,
		"passexample":            SchemeCustom,
		"":                       SchemeCustom,
		"SignatureX keyId=\"a\"": SchemeCustom,
	} {
		if got := Detect(value); got != want {
			t.Errorf("Detect(%q) = %q, want %q", value, got, want)
		}
	}
}
