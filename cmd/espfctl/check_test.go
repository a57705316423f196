package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/verify"
)

func checkArgs(url string, extra ...string) []string {
	return append([]string{"check", "--url", url, "--auth", "custom", "--scheme", "Plain", "--credentials", "passexample"}, extra...)
}

// TestCheckExitCodes: 0 when every check passes against the reference
// receiver, 1 when one fails, 2 on usage errors, 3 when nothing answers.
func TestCheckExitCodes(t *testing.T) {
	t.Parallel()
	au, err := sign.New(sign.Config{Scheme: sign.SchemeCustom, Name: "Plain", Credentials: []string{"passexample"}})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := verify.NewReceiver(verify.Config{Auth: au})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	good := httptest.NewServer(rc)
	t.Cleanup(good.Close)
	noContent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(noContent.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/"
	ln.Close()

	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"reference receiver passes", checkArgs(good.URL), exitOK, "pass\tdeliver\t200 OK\t", "9 passed, 0 warned, 0 failed, 1 skipped"},
		{"204 fails", checkArgs(noContent.URL), exitFailed,
			"FAIL\tdeliver\t204 No Content\texactly 200\tanswered 204, not 200: the event is re-sent for ever", "checks failed"},
		{"wrong credentials fail deliver", []string{"check", "--url", good.URL, "--auth", "custom", "--scheme", "Plain", "--credentials", "nope", "--only", "deliver"}, exitFailed,
			"are these the credentials the Application expects?", "1 of 1 checks failed"},
		{"no url", []string{"check", "--auth", "basic", "--user", "u", "--password", "p"}, exitUsage, "", "--url is required"},
		{"no auth", []string{"check", "--url", good.URL}, exitUsage, "", "--auth is required"},
		{"unknown check", checkArgs(good.URL, "--only", "deliver,nope"), exitUsage, "", `--only "nope": unknown check`},
		{"refused", checkArgs(refused), exitError, "FAIL\tdeliver\trefused\t", "the Application could not be reached: 8 requests to " + refused + ", none answered (refused)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, out, errb := term.Test()
			if code := run(t.Context(), tt.args, ios); code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errb)
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant %q and %q", out, errb, tt.stdout, tt.stderr)
			}
			if strings.Contains(out.String()+errb.String(), "passexample") {
				t.Errorf("the secret appears in the output")
			}
		})
	}
}

// TestCheckJSONAndJUnit: --json is one object with every check; --junit has
// one testcase per check, and a warning is not a failure.
func TestCheckJSONAndJUnit(t *testing.T) {
	t.Parallel()
	// accepts everything with 200: the auth checks fail, bad-json and
	// no-i-event only warn.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	t.Cleanup(srv.Close)
	junit := filepath.Join(t.TempDir(), "check.xml")
	ios, out, errb := term.Test()
	if code := run(t.Context(), checkArgs(srv.URL, "--json", "--junit", junit), ios); code != exitFailed {
		t.Fatalf("exit %d, want %d: %s", code, exitFailed, errb)
	}
	var rep report.CheckReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if want := (check.Counts{Pass: 5, Warn: 2, Fail: 2, Skip: 1}); rep.Counts != want || len(rep.Checks) != 10 {
		t.Errorf("counts %+v over %d checks, want %+v over 10", rep.Counts, len(rep.Checks), want)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 10 || doc.Failures != 2 {
		t.Errorf("junit: %d tests, %d failures; want 10, 2 (warnings pass)", doc.Tests, doc.Failures)
	}
}

// TestCheckTLS: --ca-file trusts the Application's certificate; without it
// every request fails the TLS handshake: unreachable, exit 3.
func TestCheckTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	for _, tt := range []struct {
		name           string
		extra          []string
		code           int
		stdout, stderr string
	}{
		{"trusted", []string{"--ca-file", ca}, exitOK, "pass\tdeliver\t200 OK", ""},
		{"untrusted", nil, exitError, "FAIL\tdeliver\ttls\t", "could not be reached: 1 request to " + srv.URL + ", none answered (tls)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, out, errb := term.Test()
			if code := run(t.Context(), checkArgs(srv.URL, append([]string{"--only", "deliver"}, tt.extra...)...), ios); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errb)
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant %q and %q", out, errb, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestCheckInterrupted: an interrupt during a check prints the checks done
// so far and exits 130.
func TestCheckInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client going away
		if n.Add(1) == 2 {
			cancel() // the second request: as if ^C was pressed while it was in flight
			<-r.Context().Done()
			return
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	ios, out, errb := term.Test()
	if code := run(ctx, checkArgs(srv.URL), ios); code != exitInterrupted {
		t.Fatalf("exit %d, want %d: %s", code, exitInterrupted, errb)
	}
	if !strings.Contains(out.String(), "pass\tdeliver\t") || !strings.Contains(errb.String(), "check interrupted after 1 checks") {
		t.Errorf("stdout:\n%s\nstderr:\n%s\nwant deliver and the interruption", out, errb)
	}
}
