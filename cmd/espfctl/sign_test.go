package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/testutil"
)

// captureSign parses args with newSignCmd and returns the options that the
// run function would have received.
func captureSign(t *testing.T, args ...string) (*signOptions, error) {
	t.Helper()
	ios, _, _ := testutil.IO()
	var got *signOptions
	cmd := newSignCmd(ios, func(o *signOptions) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.Err)
	err := cmd.Execute()
	return got, err
}

func TestSignFlags(t *testing.T) {
	t.Parallel()
	t.Run("basic", func(t *testing.T) {
		t.Parallel()
		o, err := captureSign(t, "basic", "--user", "u1", "--password", "p1", "--user", "u2", "--password", "p2", "--http")
		if err != nil {
			t.Fatal(err)
		}
		if o.Scheme != sign.SchemeBasic || !slices.Equal(o.Auth.Users, []string{"u1", "u2"}) || !slices.Equal(o.Auth.Passwords, []string{"p1", "p2"}) || !o.HTTP || o.JSON {
			t.Errorf("options = %+v", o)
		}
		if o.Auth.HeaderName != sign.DefaultHeader {
			t.Errorf("HeaderName = %q, want the default %q", o.Auth.HeaderName, sign.DefaultHeader)
		}
	})
	t.Run("custom", func(t *testing.T) {
		t.Parallel()
		o, err := captureSign(t, "custom", "--scheme", "Plain", "--credentials", "passexample", "--header-name", "X-Auth", "--json")
		if err != nil {
			t.Fatal(err)
		}
		if o.Scheme != sign.SchemeCustom || o.Auth.Name != "Plain" || !slices.Equal(o.Auth.Credentials, []string{"passexample"}) || o.Auth.HeaderName != "X-Auth" || !o.JSON {
			t.Errorf("options = %+v", o)
		}
	})
	t.Run("signature", func(t *testing.T) {
		t.Parallel()
		o, err := captureSign(t, "signature", "--key-id", "test", "--key", "k1", "--key", "k2", "--date", "Thu, 12 Apr 2018 15:24:00 GMT")
		if err != nil {
			t.Fatal(err)
		}
		if o.Scheme != sign.SchemeSignature || !slices.Equal(o.Auth.KeyIDs, []string{"test"}) || !slices.Equal(o.Auth.Keys, []string{"k1", "k2"}) || o.Date != "Thu, 12 Apr 2018 15:24:00 GMT" {
			t.Errorf("options = %+v", o)
		}
	})
	t.Run("bearer defaults", func(t *testing.T) {
		t.Parallel()
		o, err := captureSign(t, "bearer", "--key", "superkey", "--i-env", "3")
		if err != nil {
			t.Fatal(err)
		}
		if o.Scheme != sign.SchemeBearer || o.Auth.IEnv != 3 || o.Auth.Exp != 0 || o.Auth.TTL != sign.DefaultTTL {
			t.Errorf("options = %+v", o)
		}
		cfg, err := o.Auth.config(o.Scheme)
		if err != nil || cfg.IEnv == nil || *cfg.IEnv != 3 {
			t.Errorf("config() = %+v, %v; want IEnv 3", cfg, err)
		}
	})
	t.Run("bearer exp and ttl", func(t *testing.T) {
		t.Parallel()
		o, err := captureSign(t, "bearer", "--key", "k", "--i-env", "0", "--exp", "1560342316")
		if err != nil || o.Auth.Exp != 1560342316 {
			t.Fatalf("--exp: options = %+v, %v", o, err)
		}
		if cfg, _ := o.Auth.config(o.Scheme); cfg.IEnv == nil || *cfg.IEnv != 0 {
			t.Errorf("--i-env 0 given: config IEnv = %v, want 0", cfg.IEnv)
		}
		o, err = captureSign(t, "bearer", "--key", "k", "--i-env", "3", "--ttl", "10m")
		if err != nil || o.Auth.TTL != 10*time.Minute {
			t.Fatalf("--ttl: options = %+v, %v", o, err)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"exp with ttl", []string{"bearer", "--key", "k", "--i-env", "3", "--exp", "1", "--ttl", "1m"}, "--exp and --ttl exclude each other"},
		{"exp 0 with ttl", []string{"bearer", "--key", "k", "--i-env", "3", "--exp", "0", "--ttl", "1m"}, "--exp and --ttl exclude each other"},
		{"http with json", []string{"basic", "--user", "u", "--password", "p", "--http", "--json"}, "[http json] were all set"},
		{"a flag of another scheme", []string{"basic", "--key", "k"}, "unknown flag: --key"},
		{"an argument", []string{"custom", "extra"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := captureSign(t, tc.args...)
			if err == nil {
				_, err = o.Auth.config(o.Scheme) // --exp/--ttl are checked where sign and send build the config
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("sign %q: err = %v, want %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestSecretSources: a secret comes from the flag, else the file, else the
// environment; files lose their trailing newline.
func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyFile, pwFile, credFile := file("key", "from-file\n"), file("pw", "pw-file\r\n"), file("cred", "cred-file")
	empty := file("empty", "\n")
	t.Setenv(envKey, "from-env")
	t.Setenv(envPassword, "pw-env")
	t.Setenv(envCredentials, "cred-env")
	for _, tc := range []struct {
		name string
		args []string
		want func(sign.Config) []string
		val  []string
	}{
		{"key from env", []string{"signature", "--key-id", "a"}, func(c sign.Config) []string { return c.Keys }, []string{"from-env"}},
		{"key from file beats env", []string{"signature", "--key-id", "a", "--key-file", keyFile}, func(c sign.Config) []string { return c.Keys }, []string{"from-file"}},
		{"flag then file, both", []string{"bearer", "--key", "flag", "--key-file", keyFile}, func(c sign.Config) []string { return c.Keys }, []string{"flag", "from-file"}},
		{"password from env", []string{"basic", "--user", "u"}, func(c sign.Config) []string { return c.Passwords }, []string{"pw-env"}},
		{"password from file", []string{"basic", "--user", "u", "--password-file", pwFile}, func(c sign.Config) []string { return c.Passwords }, []string{"pw-file"}},
		{"credentials from env", []string{"custom", "--scheme", "Plain"}, func(c sign.Config) []string { return c.Credentials }, []string{"cred-env"}},
		{"credentials from file", []string{"custom", "--scheme", "Plain", "--credentials-file", credFile}, func(c sign.Config) []string { return c.Credentials }, []string{"cred-file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := captureSign(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := o.Auth.config(o.Scheme)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.want(cfg); !slices.Equal(got, tc.val) {
				t.Errorf("secrets = %q, want %q", got, tc.val)
			}
		})
	}
	for _, tc := range []struct{ name, flag, path, want string }{
		{"missing file", "--key-file", filepath.Join(dir, "nope"), "--key-file " + filepath.Join(dir, "nope")},
		{"empty file", "--key-file", empty, "the file is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := captureSign(t, "signature", "--key-id", "a", tc.flag, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := o.Auth.config(o.Scheme); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("config() = %v, want %q", err, tc.want)
			}
		})
	}
}
