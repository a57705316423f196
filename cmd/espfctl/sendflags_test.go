package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/term"
)

// TestSendTypeIsChecked: --type and --mix are checked against the
// catalog with "did you mean"; --allow-unknown-type sends anyway.
func TestSendTypeIsChecked(t *testing.T) {
	t.Parallel()
	rec, url := newBodyRecorder(t)
	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"--type", "Subscriber/Creatd"}, exitUsage, `--type "Subscriber/Creatd": unknown event type (not in the ESPF catalog; --allow-unknown-type sends it anyway); did you mean "Subscriber/Created"?`},
		{[]string{"--mix", "Subscriber/Created=2,Customer/Updatd=1"}, exitUsage, `--mix "Customer/Updatd": unknown event type`},
		{[]string{"--type", "Subscriber/Creatd", "--allow-unknown-type"}, exitOK, ""},
		{[]string{"--type", "Subscriber"}, exitUsage, "want Group/Action"},
		{[]string{"--renumber"}, exitUsage, "--renumber renumbers an --events replay"},
	} {
		ios, _, errb := term.Test()
		if code := run(t.Context(), sendArgs(url, append([]string{"--count", "1"}, tt.args...)...), ios); code != tt.code || !strings.Contains(errb.String(), tt.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errb, tt.code, tt.err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.bodies) != 1 {
		t.Errorf("%d events arrived, want only the one allowed", len(rec.bodies))
	}
}

// TestReportReadsStdin: report - reads a results file from standard input,
// also beside files.
func TestReportReadsStdin(t *testing.T) {
	t.Parallel()
	srv := statusServer(t, 200)
	res := filepath.Join(t.TempDir(), "a.jsonl")
	ios, _, errb := term.Test()
	if code := run(t.Context(), sendArgs(srv.URL, "--count", "3", "--results", res), ios); code != exitOK {
		t.Fatalf("send: exit %d: %s", code, errb)
	}
	b, err := os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"report", "-"}, {"report", res, "-"}} {
		ios, out, errb := term.Test()
		ios.In = bytes.NewReader(b)
		if code := run(t.Context(), args, ios); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errb)
		}
		want := map[int]string{2: "events\t3\n", 3: "attempts\t6\n"}[len(args)]
		if !strings.Contains(out.String(), want) {
			t.Errorf("%v: report lacks %q:\n%s", args, want, out)
		}
	}
	ios, _, errb = term.Test()
	ios.In = strings.NewReader("{\"i_event\":1}\nnot json\n")
	if code := run(t.Context(), []string{"report", "-"}, ios); code != exitUsage || !strings.Contains(errb.String(), "stdin:2:") {
		t.Errorf("a bad line on stdin: exit %d, stderr %q; want 2 and stdin:2", code, errb)
	}
}

// TestSendEventsFromAPipe: --events reads a pipe (here standard input
// given as a device path would be one too); an empty replay is refused.
func TestSendEventsFromAPipe(t *testing.T) {
	t.Parallel()
	rec, url := newBodyRecorder(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = w.WriteString(`{"event_type":"Subscriber/Created","variables":{"i_account":1,"i_event":41}}` + "\n")
		w.Close()
	}()
	defer r.Close()
	ios, _, errb := term.Test()
	if code := run(t.Context(), sendArgs(url, "--events", "/dev/fd/"+strconv.Itoa(int(r.Fd()))), ios); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	rec.mu.Lock()
	if len(rec.bodies[41]) != 1 {
		t.Errorf("bodies %v, want i_event 41 once", rec.bodies)
	}
	rec.mu.Unlock()
	ios, _, errb = term.Test()
	empty := filepath.Join(t.TempDir(), "empty.jsonl")
	writeFile(t, empty, "\n")
	if code := run(t.Context(), sendArgs(url, "--events", empty), ios); code != exitUsage || !strings.Contains(errb.String(), "holds no events: nothing to send") {
		t.Errorf("an empty replay: exit %d, stderr %q", code, errb)
	}
}
