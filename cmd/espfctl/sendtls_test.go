package main

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/testutil"
)

func TestSendTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	t.Cleanup(srv.Close) // the parallel subtests run after this function returns
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	tests := []struct {
		name   string
		extra  []string
		code   int
		stdout string
		stderr string
	}{
		{"trusted with --ca-file", []string{"--ca-file", ca}, exitOK, "delivered first try\t1", ""},
		// no attempt got through the handshake: nothing could be tested (exit 3)
		{"unknown authority is a tls error, re-sent", nil, exitError, "answer\ttls\t2", "not delivered"},
		{"insecure is warned", []string{"--insecure-skip-verify"}, exitOK, "delivered first try\t1", "warning: --insecure-skip-verify"},
		{"cert without key", []string{"--cert", ca}, exitUsage, "", "--cert and --cert-key go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, out, errb := testutil.IO()
			if code := run(t.Context(), sendArgs(srv.URL, append([]string{"--count", "1"}, tt.extra...)...), ios); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errb)
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant %q and %q", out, errb, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestSendTLSLastLine: when no attempt got through the TLS handshake, the
// last line on stderr says why and what fixes it, in the words of the
// report's errors (here over real TLS on loopback); --json's errors carry
// the same reason with its full hint.
func TestSendTLSLastLine(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes, expected here
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	// httptest's certificate names 127.0.0.1 and example.com, not localhost
	wrongHost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	for _, tt := range []struct {
		name, url string
		extra     []string
		last      string
		hint      string
	}{
		{"unknown authority", srv.URL, nil,
			"espfctl: 2 of 2 events not delivered: tls: certificate signed by unknown authority (use --ca-file FILE, or --insecure-skip-verify to test)",
			"the Application's certificate is not signed by a CA this machine trusts: pass --ca-file"},
		{"wrong host", wrongHost, []string{"--ca-file", ca},
			"espfctl: 2 of 2 events not delivered: tls: certificate is valid for example.com, *.example.com, not localhost (use the host name it was issued for in --url, or --insecure-skip-verify to test)",
			"the certificate does not name this host: use the host name it was issued for in --url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, out, errb := testutil.IO()
			if code := run(t.Context(), sendArgs(tt.url, append([]string{"--count", "2", "--json"}, tt.extra...)...), ios); code != exitError {
				t.Fatalf("exit %d, want %d (nothing was answered): %s", code, exitError, errb)
			}
			lines := strings.Split(strings.TrimRight(errb.String(), "\n"), "\n")
			if got := lines[len(lines)-1]; got != tt.last {
				t.Errorf("last stderr line:\n%s\nwant:\n%s", got, tt.last)
			}
			var rep struct {
				Errors []struct{ Class, Example, Hint string }
			}
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Errors) != 1 || rep.Errors[0].Class != "tls" || !strings.Contains(rep.Errors[0].Example, "x509: ") ||
				!strings.HasPrefix(rep.Errors[0].Hint, tt.hint) {
				t.Errorf("--json errors %+v, want one tls error with its x509 reason and the hint %q…", rep.Errors, tt.hint)
			}
		})
	}
}
