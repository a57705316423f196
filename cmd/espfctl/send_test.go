package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/testutil"
)

func statusServer(t *testing.T, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	t.Cleanup(srv.Close)
	return srv
}

func sendArgs(url string, extra ...string) []string {
	return append([]string{"send", "--url", url, "--auth", "signature", "--key-id", "test", "--key", "s3cret",
		"--rate", "200/s", "--retry-interval", "5ms", "--max-attempts", "2"}, extra...)
}

func TestSendExitCodes(t *testing.T) {
	t.Parallel()
	ok, failing, dropping := statusServer(t, 200), statusServer(t, 503), statusServer(t, 401)
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"all delivered", sendArgs(ok.URL, "--count", "5"), exitOK, ""},
		{"re-sent then gave up", sendArgs(failing.URL, "--count", "2"), exitFailed, "2 of 2 events not delivered"},
		{"dropped by 401", sendArgs(dropping.URL, "--count", "2"), exitFailed, "would never provision"},
		{"no url", []string{"send", "--auth", "basic", "--user", "u", "--password", "p"}, exitUsage, "--url is required"},
		{"no auth", []string{"send", "--url", ok.URL}, exitUsage, "--auth is required"},
		{"bad rate", sendArgs(ok.URL, "--rate", "fast"), exitUsage, "rate \"fast\""},
		{"bad arrival", sendArgs(ok.URL, "--arrival", "bursty"), exitUsage, "want constant or poisson"},
		{"bad mix", sendArgs(ok.URL, "--mix", "Subscriber=x"), exitUsage, "--mix"},
		{"bad ids", sendArgs(ok.URL, "--ids", "9-1"), exitUsage, "--ids"},
		{"missing events file", sendArgs(ok.URL, "--events", "nope.jsonl"), exitUsage, "--events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, errb := testutil.IO()
			if got := run(t.Context(), tt.args, ios); got != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", got, tt.code, errb)
			}
			if !strings.Contains(errb.String(), tt.err) {
				t.Errorf("stderr %q does not say %q", errb, tt.err)
			}
			if strings.Contains(errb.String(), "s3cret") {
				t.Errorf("the key leaked to stderr: %s", errb)
			}
		})
	}
}

func TestSendJSONAndReportMerge(t *testing.T) {
	t.Parallel()
	srv := statusServer(t, 200)
	dir := t.TempDir()
	for i, f := range []string{"a.jsonl", "b.jsonl"} {
		ios, out, errb := testutil.IO()
		args := sendArgs(srv.URL, "--count", "4", "--json", "--results", filepath.Join(dir, f), "--first-event", []string{"1", "100"}[i],
			"--mix", "Subscriber/Created=1,Customer/Updated=1")
		if code := run(t.Context(), args, ios); code != exitOK {
			t.Fatalf("send exit %d: %s", code, errb)
		}
		var s report.Summary
		if err := json.Unmarshal(out.Bytes(), &s); err != nil {
			t.Fatalf("--json output is not one JSON object: %v\n%s", err, out)
		}
		if s.Events != 4 || s.Outcomes.DeliveredFirstTry != 4 || s.Latency.Count != 4 {
			t.Errorf("summary %+v", s)
		}
	}
	ios, out, errb := testutil.IO()
	if code := run(t.Context(), []string{"report", "--json", filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")}, ios); code != exitOK {
		t.Fatalf("report exit %d: %s", code, errb)
	}
	var s report.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Events != 8 || s.Attempts != 8 || s.ByType["Subscriber/Created"].Events+s.ByType["Customer/Updated"].Events != 8 {
		t.Errorf("merged report: events %d attempts %d by type %v; want 8", s.Events, s.Attempts, s.ByType)
	}
	ios, out, _ = testutil.IO()
	if code := run(t.Context(), []string{"report", filepath.Join(dir, "a.jsonl")}, ios); code != exitOK {
		t.Fatalf("report exit %d", code)
	}
	if !strings.Contains(out.String(), "delivered first try\t4\n") {
		t.Errorf("plain report lacks the outcome line:\n%s", out)
	}
	ios, _, _ = testutil.IO()
	if code := run(t.Context(), []string{"report", filepath.Join(dir, "missing.jsonl")}, ios); code != exitUsage {
		t.Errorf("report of a missing file: exit %d, want 2", code)
	}
}

func TestSendReplaysEventsFile(t *testing.T) {
	t.Parallel()
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, r.ContentLength)
		_, _ = r.Body.Read(b)
		bodies = append(bodies, string(b))
		w.WriteHeader(200)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "events.jsonl")
	writeFile(t, file, `{"event_type":"Subscriber/Created","variables":{"i_account":1000889,"i_event":7615}}
{"event_type":"Customer/Updated","variables":{"i_customer":"42"}}
`)
	ios, _, errb := testutil.IO()
	if code := run(t.Context(), sendArgs(srv.URL, "--events", file, "--max-in-flight", "1", "--rate", "50/s"), ios); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	want := []string{
		`{"event_type":"Subscriber/Created","variables":{"i_account":1000889,"i_event":7615}}`,
		`{"event_type":"Customer/Updated","variables":{"i_customer":"42","i_event":7616}}`,
	}
	if strings.Join(bodies, "\n") != strings.Join(want, "\n") {
		t.Errorf("bodies:\n%s\nwant:\n%s", strings.Join(bodies, "\n"), strings.Join(want, "\n"))
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSendInterrupted: the first ^C stops the schedule, the report so far is
// still printed, and the exit code is 130.
func TestSendInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel() // as if ^C arrived during the first request
		w.WriteHeader(200)
	}))
	defer srv.Close()
	ios, out, errb := testutil.IO()
	if code := run(ctx, sendArgs(srv.URL), ios); code != exitInterrupted {
		t.Fatalf("exit %d, want 130: %s", code, errb)
	}
	if !strings.Contains(out.String(), "interrupted\tyes") || !strings.Contains(errb.String(), "send interrupted") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errb)
	}
}
