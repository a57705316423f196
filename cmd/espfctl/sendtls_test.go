package main

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/term"
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
		{"unknown authority is a tls error, re-sent", nil, exitFailed, "answer\ttls\t2", "not delivered"},
		{"insecure is warned", []string{"--insecure-skip-verify"}, exitOK, "delivered first try\t1", "warning: --insecure-skip-verify"},
		{"cert without key", []string{"--cert", ca}, exitUsage, "", "--cert and --cert-key go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, out, errb := term.Test()
			if code := run(t.Context(), sendArgs(srv.URL, append([]string{"--count", "1"}, tt.extra...)...), ios); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errb)
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant %q and %q", out, errb, tt.stdout, tt.stderr)
			}
		})
	}
}
