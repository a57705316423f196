package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/testutil"
)

const (
	docDate   = "Thu, 12 Apr 2018 15:24:00 GMT"
	docSigVal = `Signature keyId="test",algorithm="hmac-sha1",signature="+IkiEg9UkyA+gh+pcI64itisKhs="`
	docToken  = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJpX2VudiI6MywiRXhwIjoxNTYwMzQyMzE2fQ.PONYERv3xYs5g--XwbflOcaWddSuUNt7hAQqvoEcO4Q"
)

func TestVerifyFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := testutil.IO()
	var got *verifyOptions
	cmd := newVerifyCmd(ios, func(o *verifyOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--authorization", docSigVal, "--date", docDate, "--now", "1523546640",
		"--key-id", "test", "--key", "signature_key", "--key", "next", "--max-skew", "30s", "--header-name", "X-Auth", "--i-env", "7", "--json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Authorization != docSigVal || got.Date != docDate || got.Now != "1523546640" || !got.JSON {
		t.Errorf("options = %+v", got)
	}
	a := got.Auth
	if !slices.Equal(a.KeyIDs, []string{"test"}) || !slices.Equal(a.Keys, []string{"signature_key", "next"}) || a.MaxSkew != 30*time.Second || a.HeaderName != "X-Auth" || a.IEnv != 7 {
		t.Errorf("auth flags = %+v", a)
	}
	if cfg, err := a.config(sign.SchemeBearer); err != nil || cfg.IEnv == nil || *cfg.IEnv != 7 {
		t.Errorf("config() = %+v, %v; want IEnv 7", cfg, err)
	}
}

func TestVerifyFlagDefaults(t *testing.T) {
	t.Parallel()
	ios, _, _ := testutil.IO()
	var got *verifyOptions
	cmd := newVerifyCmd(ios, func(o *verifyOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--authorization", "Basic x", "--user", "u", "--password", "p"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Auth.MaxSkew != sign.DefaultMaxSkew || got.Auth.HeaderName != sign.DefaultHeader || got.Now != "" || got.JSON {
		t.Errorf("defaults = %+v", got)
	}
	if cfg, _ := got.Auth.config(sign.SchemeBearer); cfg.IEnv != nil {
		t.Errorf("--i-env not given: config IEnv = %d, want nil (not checked)", *cfg.IEnv)
	}
}

func TestParseNow(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Time{
		"1560340000":                time.Unix(1560340000, 0),
		"2019-06-12T11:46:40Z":      time.Unix(1560340000, 0),
		"2019-06-12T13:46:40+02:00": time.Unix(1560340000, 0),
	} {
		if got, err := parseNow(in); err != nil || !got.Equal(want) {
			t.Errorf("parseNow(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"yesterday", "2019-06-12", "1.5"} {
		if _, err := parseNow(in); err == nil {
			t.Errorf("parseNow(%q) = nil error, want a usage error", in)
		}
	}
}

// runCLI runs espfctl in-process and returns the exit code and streams.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ios, out, errb := testutil.IO()
	code := run(context.Background(), args, ios)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"sign ok", []string{"sign", "basic", "--user", "u", "--password", "p"}, exitOK},
		{"verify valid", []string{"verify", "--authorization", docSigVal, "--date", docDate, "--now", "2018-04-12T15:24:30Z", "--key-id", "test", "--key", "signature_key"}, exitOK},
		{"verify invalid", []string{"verify", "--authorization", docSigVal, "--date", docDate, "--now", "2018-04-12T15:24:30Z", "--key-id", "test", "--key", "signature"}, exitFailed},
		{"verify expired", []string{"verify", "--authorization", docToken, "--key", "superkey"}, exitFailed},
		{"verify unparseable --date is a failed check", []string{"verify", "--authorization", docSigVal, "--date", "yesterday", "--key-id", "test", "--key", "signature_key"}, exitFailed},
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"unknown sign scheme", []string{"sign", "rsa"}, exitUsage},
		{"no subcommand", []string{"sign"}, exitUsage},
		{"unknown flag", []string{"sign", "basic", "--bogus"}, exitUsage},
		{"missing --authorization", []string{"verify", "--key", "k"}, exitUsage},
		{"missing password", []string{"sign", "basic", "--user", "u"}, exitUsage},
		{"missing credentials for the detected scheme", []string{"verify", "--authorization", docToken}, exitUsage},
		{"bad --now", []string{"verify", "--authorization", docToken, "--key", "k", "--now", "soon"}, exitUsage},
		{"bad sign --date", []string{"sign", "signature", "--key-id", "a", "--key", "k", "--date", "yesterday"}, exitUsage},
		{"--exp with --ttl", []string{"sign", "bearer", "--key", "k", "--i-env", "3", "--exp", "1", "--ttl", "1m"}, exitUsage},
		{"--http with --json", []string{"sign", "custom", "--scheme", "P", "--credentials", "c", "--http", "--json"}, exitUsage},
		{"negative --max-skew", []string{"verify", "--authorization", docToken, "--key", "k", "--max-skew", "-1s"}, exitUsage},
		{"bad --color", []string{"--color", "sometimes", "version"}, exitUsage},
		{"version", []string{"version"}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, tc.args...)
			if code != tc.want {
				t.Errorf("espfctl %q exited %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.want, out, errOut)
			}
			if code != exitOK && !strings.HasPrefix(errOut, "espfctl: ") && !strings.Contains(errOut, "Usage:") {
				t.Errorf("espfctl %q: stderr %q does not say why", tc.args, errOut)
			}
		})
	}
}

// TestVerifyHidesSecrets: verify with a wrong secret prints neither the
// configured secret nor (basic) the received password, in any output.
func TestVerifyHidesSecrets(t *testing.T) {
	t.Parallel()
	const (
		configured = "Configured-S3cret"
		received   = "Received-W0rd"
	)
	receivedSig := "Signature keyId=\"test\",algorithm=\"hmac-sha1\",signature=\"" + sign.Sum([]byte(received), docDate) + "\""
	cases := []struct {
		scheme string
		args   []string
	}{
		{"basic", []string{"--authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("EventUser:"+received)), "--user", "EventUser", "--password", configured}},
		{"basic wrong user", []string{"--authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("Other:"+received)), "--user", "EventUser", "--password", configured}},
		{"custom", []string{"--authorization", "Plain " + received, "--scheme", "Plain", "--credentials", configured}},
		{"custom wrong name", []string{"--authorization", "Token " + received, "--scheme", "Plain", "--credentials", configured}},
		{"signature", []string{"--authorization", receivedSig, "--date", docDate, "--now", "1523546640", "--key-id", "test", "--key", configured}},
		{"bearer", []string{"--authorization", docToken, "--now", "1560340000", "--key", configured, "--i-env", "3"}},
	}
	for _, tc := range cases {
		for _, format := range []string{"text", "json"} {
			t.Run(tc.scheme+"/"+format, func(t *testing.T) {
				t.Parallel()
				args := append([]string{"verify"}, tc.args...)
				if format == "json" {
					args = append(args, "--json")
				}
				code, out, errOut := runCLI(t, args...)
				if code != exitFailed {
					t.Fatalf("exit %d, want %d (a wrong secret)\n%s%s", code, exitFailed, out, errOut)
				}
				if format == "json" {
					var r map[string]any
					if err := json.Unmarshal([]byte(out), &r); err != nil || r["valid"] != false {
						t.Errorf("--json output %q: %v, want valid:false", out, err)
					}
				}
				for _, secret := range []string{configured, received} {
					for where, s := range map[string]string{"stdout": out, "stderr": errOut} {
						if strings.Contains(s, secret) {
							t.Errorf("%s shows the secret %q:\n%s", where, secret, s)
						}
					}
				}
			})
		}
	}
}

func TestHeaderLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, header, value, date string }{
		{"Basic dXNlcm5hbWU6c2VjcmV0\n", "Authorization", "Basic dXNlcm5hbWU6c2VjcmV0", ""},
		{"Plain a:b", "Authorization", "Plain a:b", ""},
		{"Authorization: " + docSigVal + "\nDate: " + docDate + "\n", "Authorization", docSigVal, docDate},
		{"date: " + docDate + "\r\nx-auth: Plain c\r\n", "X-Auth", "Plain c", docDate},
		{"Date: " + docDate + "\n", "Authorization", "Date: " + docDate, ""},
	} {
		value, date := headerLines(tc.in, tc.header)
		if value != tc.value || date != tc.date {
			t.Errorf("headerLines(%q, %q) = %q, %q; want %q, %q", tc.in, tc.header, value, date, tc.value, tc.date)
		}
	}
}
