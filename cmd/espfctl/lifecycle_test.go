package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/testutil"
)

// lifecycleArgs sends 60 entity histories, tightly interleaved, with
// re-sends slow enough that an entity's later events overtake its failed
// Created.
func lifecycleArgs(url string, extra ...string) []string {
	return sendArgs(url, append([]string{"--lifecycle", "--entities", "60", "--active", "3", "--updates", "1-2", "--deleted", "40%",
		"--rate", "200/s", "--retry-interval", "150ms", "--retry-backoff", "fixed", "--max-attempts", "4",
		"--state-url", url + "/state/{group}/{id}", "--json", "--no-progress"}, extra...)...)
}

func runLifecycle(t *testing.T, args []string, want int) (*report.Summary, string) {
	t.Helper()
	ios, out, errb := testutil.IO()
	if code := run(t.Context(), args, ios); code != want {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, want, errb)
	}
	var s report.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if s.Reordered == nil || s.Reordered.Events == 0 {
		t.Fatalf("reordered %+v: the faults must reorder deliveries for the test to mean anything", s.Reordered)
	}
	if s.FinalState == nil || s.FinalState.Checked == 0 {
		t.Fatalf("final_state %+v: nothing was read back", s.FinalState)
	}
	return &s, errb.String()
}

// TestLifecycleArrivalOrderFails: an Application that applies events in
// the order they arrive brings deleted entities back; the final-state
// check says which, in words, and send exits 1.
func TestLifecycleArrivalOrderFails(t *testing.T) {
	t.Parallel()
	app := httptest.NewServer(newLifecycleApp(t, arrivalOrder, ""))
	defer app.Close()
	s, stderr := runLifecycle(t, lifecycleArgs(app.URL), exitFailed)
	f := s.FinalState
	if f.Mismatch == 0 || f.Match+f.Mismatch+f.Errors != f.Checked || len(f.Mismatches) == 0 {
		t.Fatalf("final_state %+v: want mismatches", f)
	}
	if !strings.Contains(stderr, "final state:") {
		t.Errorf("stderr does not say why it failed:\n%s", stderr)
	}
	found := false
	for _, m := range f.Mismatches {
		if strings.Contains(m.Words, "re-sent and delivered: the Application shows it existing") && strings.Contains(m.Words, "expected deleted") {
			found = true
		}
	}
	if !found {
		t.Errorf("no mismatch shows a deleted entity brought back by a re-sent Created: %+v", f.Mismatches)
	}
	if s.Reordered.ByKind["create_after_delete"] == 0 {
		t.Errorf("reordered %+v: want Created delivered after Deleted", s.Reordered)
	}
	// the report prints each mismatch on its own line, for grep
	var text strings.Builder
	if err := report.SummaryText(&text, s, term.Layout{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "mismatch\t"+f.Mismatches[0].Entity+"\t"+f.Mismatches[0].Words) ||
		!strings.Contains(text.String(), "reordered\tCreated delivered after the Deleted\t") {
		t.Errorf("the text report lacks the mismatch and reordering lines:\n%s", text.String())
	}
	t.Logf("the report:\n%s", text.String())
}

// TestLifecycleByIEventPasses: design (b) survives the same reordering.
func TestLifecycleByIEventPasses(t *testing.T) {
	t.Parallel()
	app := httptest.NewServer(newLifecycleApp(t, byIEvent, ""))
	defer app.Close()
	s, _ := runLifecycle(t, lifecycleArgs(app.URL), exitOK)
	if f := s.FinalState; f.Mismatch != 0 || f.Errors != 0 || f.Match != f.Checked || f.Unknown != 0 {
		t.Errorf("final_state %+v: want every entity to match", f)
	}
}

// TestLifecycleReadBackPasses: design (a), reading every entity back from
// the PortaBilling API mock (login, Bearer, {"params": …}), survives it too.
func TestLifecycleReadBackPasses(t *testing.T) {
	t.Parallel()
	for try := 1; ; try++ {
		api := freeAddr(t)
		la := newLifecycleApp(t, readBack, "http://"+api)
		app := httptest.NewServer(la)
		ios, out, errb := testutil.IO()
		code := run(t.Context(), lifecycleArgs(app.URL, "--api-listen", api, "--api-login", "app", "--api-password", "api-pw"), ios)
		app.Close()
		if code != exitOK && strings.Contains(errb.String(), "address already in use") && try < 3 {
			continue
		}
		if code != exitOK {
			t.Fatalf("exit %d: %s\n%s", code, errb, out)
		}
		var s report.Summary
		if err := json.Unmarshal(out.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		if f := s.FinalState; f == nil || f.Mismatch != 0 || f.Match != f.Checked || f.Checked < 50 {
			t.Errorf("final_state %+v", f)
		}
		if s.Reordered == nil || s.Reordered.Events == 0 {
			t.Errorf("reordered %+v: nothing was reordered", s.Reordered)
		}
		calls := map[string]int64{}
		for _, c := range s.APICalls {
			calls[c.Method] = c.Calls
			if c.Faults > 0 {
				t.Errorf("%s: %d faults", c.Method, c.Faults)
			}
		}
		if calls["Session/login"] != 1 || calls["Account/get_account_info"] == 0 || calls["DID/get_number_list"] == 0 || la.reads == 0 {
			t.Errorf("calls per method %v, Application reads %d", calls, la.reads)
		}
		if strings.Contains(errb.String(), "api-pw") || strings.Contains(out.String(), "api-pw") {
			t.Error("the API password leaked")
		}
		return
	}
}

func TestLifecycleUsage(t *testing.T) {
	t.Parallel()
	ok := statusServer(t, 200)
	tests := []struct {
		args []string
		says string
	}{
		{sendArgs(ok.URL, "--entities", "5"), "--entities shapes entity histories: give --lifecycle too"},
		{sendArgs(ok.URL, "--lifecycle", "--type", "Subscriber/Created"), "cannot be combined with --type"},
		{sendArgs(ok.URL, "--lifecycle", "--events", "x.jsonl"), "cannot be combined with --events"},
		{sendArgs(ok.URL, "--lifecycle", "--updates", "3-1"), "--updates"},
		{sendArgs(ok.URL, "--lifecycle", "--deleted", "130%"), "--deleted"},
		{sendArgs(ok.URL, "--lifecycle", "--groups", "Invoice"), "Invoice needs Customer"},
		{sendArgs(ok.URL, "--lifecycle", "--groups", "SIM"), "--groups"},
		{sendArgs(ok.URL, "--lifecycle", "--entities", "20", "--ids", "1-10"), "holds 10 ids"},
		{sendArgs(ok.URL, "--state-url", "http://x/state/{id}"), "--state-url: invalid state URL: it needs {group}"},
		{sendArgs(ok.URL, "--api-login", "a"), "give --api-listen too"},
		{sendArgs(ok.URL, "--api-listen", "127.0.0.1:0", "--api-login", "a"), "go together"},
		{sendArgs(ok.URL, "--api-listen", "127.0.0.1:0", "--api-ca-out", "ca.pem"), "only for a self-signed"},
		{sendArgs(ok.URL, "--api-listen", "0.0.0.0:0"), "--api-listen: 0.0.0.0:0: the API mock has no credentials, so it listens on a loopback address only"},
	}
	for _, tt := range tests {
		ios, _, errb := testutil.IO()
		if code := run(t.Context(), tt.args, ios); code != exitUsage || !strings.Contains(errb.String(), tt.says) {
			t.Errorf("%v: exit %d, stderr %q; want %d saying %q", tt.args[len(sendArgs("")):], code, errb, exitUsage, tt.says)
		}
	}
}

// TestRunLifecycleTarget: a scenario against the user's Application, read
// back through target.state_url: the arrival-order one fails final_state
// (exit 1), the i_event-ordering one passes.
func TestRunLifecycleTarget(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    design
		code int
	}{{arrivalOrder, exitFailed}, {byIEvent, exitOK}} {
		app := httptest.NewServer(newLifecycleApp(t, tt.d, ""))
		file := filepath.Join(t.TempDir(), "app.yaml")
		yaml := fmt.Sprintf(`version: 1
target:
  url: %s/
  state_url: %s/state/{group}/{id}
auth: {scheme: signature, key_id: test, key: s3cret}
events:
  lifecycle: {entities: 30, active: 3, updates: 1-2, deleted: 50%%}
phases: [{rate: 200/s, duration: 10s}]
delivery: {retry_interval: 150ms, backoff: fixed, max_attempts: 4}
expect:
  final_state: 100%%
  reordered: "> 0"
`, app.URL, app.URL)
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		ios, out, errb := testutil.IO()
		code := run(t.Context(), []string{"run", file}, ios)
		app.Close()
		if code != tt.code {
			t.Errorf("design %d: exit %d, want %d\n%s\n%s", tt.d, code, tt.code, out, errb)
		}
		if !strings.Contains(out.String(), "expect\tpass\treordered > 0") {
			t.Errorf("design %d: the faults did not reorder:\n%s", tt.d, out)
		}
		verdict := map[int]string{exitOK: "expect\tpass\tfinal_state >= 100%", exitFailed: "expect\tFAIL\tfinal_state >= 100%"}[tt.code]
		if !strings.Contains(out.String(), verdict) {
			t.Errorf("design %d: want %q in:\n%s", tt.d, verdict, out)
		}
	}
}
