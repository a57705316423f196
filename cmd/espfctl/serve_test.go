package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/testutil"
)

// espfctlBinary is espfctl as a program for a test that runs it as a
// process: this test binary, which testscript.Main (TestMain) put on PATH
// under the name espfctl and which then runs realMain. Nothing is built.
func espfctlBinary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("espfctl")
	if err != nil {
		t.Fatalf("espfctl is not on PATH (testscript.Main installs it): %v", err)
	}
	return bin
}

// served is a running serve binary: its delivery and admin addresses.
type served struct {
	cmd         *exec.Cmd
	addr, admin string
}

// startServe starts the built binary and returns its addresses once it
// printed "listening on" and "admin on" (read from its stderr, no polling).
func startServe(t *testing.T, bin string, args ...string) served {
	t.Helper()
	return startServeCmd(t, testutil.Command(t, bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...), io.Discard)
}

// startServeCmd starts a serve command made with testutil.Command (which
// ends it with the test); its stderr after the start-up lines goes to rest.
func startServeCmd(t *testing.T, cmd *exec.Cmd, rest io.Writer) served {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	listening := regexp.MustCompile(`listening on https?://(\S+?)/`)
	adminRe := regexp.MustCompile(`admin on http://(\S+) `)
	s := served{cmd: cmd}
	for sc.Scan() {
		fmt.Fprintln(rest, sc.Text())
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			s.addr = m[1]
		}
		if m := adminRe.FindStringSubmatch(sc.Text()); m != nil {
			s.admin = m[1]
			go io.Copy(rest, stderr)
			return s
		}
	}
	t.Fatalf("serve exited before listening: %v", sc.Err())
	return s
}

func deliver(t *testing.T, au sign.Auth, addr string, iEvent int) int {
	t.Helper()
	payload := fmt.Sprintf(`{"event_type":"Account/Created","variables":{"i_account":%d,"i_event":%d}}`, iEvent+1000, iEvent)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	if err := au.Sign(req.Header, []byte(payload), time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func journalEvents(t *testing.T, addr string) map[int64]journal.Record {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[int64]journal.Record{}
	dec := json.NewDecoder(resp.Body)
	for {
		var e journal.Record
		if err := dec.Decode(&e); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out[e.ID] = e
	}
}

// TestServeSurvivesSIGKILL: what was answered 200 is in the journal after
// kill -9 and a restart, and a repeat counts as a duplicate.
func TestServeSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := espfctlBinary(t)
	db := filepath.Join(dir, "events.db")
	args := []string{"--journal", db, "--auth", "signature", "--key-id", "pb", "--key", "k1"}
	au, err := sign.New(sign.Config{Scheme: "signature", KeyIDs: []string{"pb"}, Keys: []string{"k1"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, bin, args...)
	for i := 1; i <= 50; i++ {
		if got := deliver(t, au, srv.addr, i); got != 200 {
			t.Fatalf("delivery %d: status %d, want 200", i, got)
		}
	}
	if err := srv.cmd.Process.Kill(); err != nil { // SIGKILL: no drain, no close
		t.Fatal(err)
	}
	srv.cmd.Wait()

	srv = startServe(t, bin, args...)
	evs := journalEvents(t, srv.admin)
	for i := int64(1); i <= 50; i++ {
		if e, ok := evs[i]; !ok || e.Deliveries != 1 {
			t.Errorf("i_event %d after SIGKILL: %+v (present %t), want it journaled once", i, e, ok)
		}
	}
	if got := deliver(t, au, srv.addr, 7); got != 200 {
		t.Fatalf("repeat: status %d, want 200", got)
	}
	if e := journalEvents(t, srv.admin)[7]; e.Deliveries != 2 {
		t.Errorf("repeat of i_event 7: %d deliveries, want 2 (a duplicate)", e.Deliveries)
	}
}

func TestServeUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--auth is required"},
		{[]string{"serve", "--no-auth", "--auth", "basic"}, "give one"},
		{[]string{"serve", "--no-auth", "--fail-rate", "2"}, "probability"},
		{[]string{"serve", "--no-auth", "--delay", "9ms-1ms"}, "min <= max"},
		{[]string{"serve", "--no-auth", "--tls-cert", "x"}, "go together"},
		{[]string{"journal", filepath.Join(t.TempDir(), "none.db")}, "open journal"},
	} {
		ios, _, errb := testutil.IO()
		code := run(context.Background(), tt.args, ios)
		if (code != exitUsage && code != exitError) || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want a usage/open error naming %q", tt.args, code, errb.String(), tt.want)
		}
	}
}

// TestServeStdoutNeverRead: with serve's stdout a pipe nobody reads, 3,000
// deliveries are all answered 200; the dropped lines are counted on stderr
// and /metrics, and /healthz reports the stuck writer. Nothing here is
// bounded by this machine's speed: the sender waits for every answer as
// long as it takes (the test's -timeout is the only bound), and /healthz is
// polled until it says stuck.
func TestServeStdoutNeverRead(t *testing.T) {
	t.Parallel()
	bin := espfctlBinary(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close() // never read until the end
	cmd := testutil.Command(t, bin, "serve", "--listen", "127.0.0.1:0", "--no-auth")
	cmd.Stdout = pw
	var stderr lockedBuffer
	srv := startServeCmd(t, cmd, &stderr)
	pw.Close()

	const n = 3000
	g, err := event.NewGenerator(event.GenConfig{Count: n})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[int]int{}
	var service []time.Duration
	_, err = sim.Run(t.Context(), sim.Config{URL: "http://" + srv.addr + "/", Events: g,
		Phases:  []sim.Phase{{Rate: sim.Rate{Freq: 1000, Per: time.Second}, Count: n}},
		Timeout: forever, Drain: forever, Retry: sim.Retry{MaxAttempts: 1},
		Sink: sim.RecordFunc(func(r *sim.Record) { codes[r.Status]++; service = append(service, r.Service()) })})
	if err != nil {
		t.Fatal(err)
	}
	if codes[200] != n {
		t.Errorf("answers %v, want all %d deliveries answered 200 while stdout is not read", codes, n)
	}
	health := waitHealth(t, srv.admin, 503)
	if !strings.Contains(health, "stuck") || !strings.Contains(health, "lines dropped") {
		t.Errorf("/healthz = %q, want the stuck stdout writer reported", health)
	}
	if m := fetch(t, "http://"+srv.admin+"/metrics"); !regexp.MustCompile(`(?m)^espf_log_lines_dropped_total [1-9]`).MatchString(m) {
		t.Errorf("/metrics does not count the dropped lines")
	}
	srv.cmd.Process.Signal(os.Interrupt)
	if err := srv.cmd.Wait(); err != nil {
		t.Errorf("serve after SIGINT: %v\n%s", err, stderr.String())
	}
	t.Logf("answers %v; service time p50 %s, p99 %s, max %s", codes, pct(service, 50), pct(service, 99), pct(service, 100))
	t.Logf("stderr:\n%s", stderr.String())
	for _, want := range []string{"stdout is not being read", "delivery lines were dropped", fmt.Sprintf("stopped: %d deliveries", n)} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}

// forever bounds a wait in a test that must not depend on this machine's
// speed: in effect no bound but the test's own -timeout.
const forever = 24 * time.Hour

// waitHealth polls /healthz until it answers want; only the test's
// -timeout bounds the wait (serve reports a stuck writer verify.StuckAfter
// after the write began, which is wall-clock time in another process).
func waitHealth(t *testing.T, admin string, want int) string {
	t.Helper()
	for {
		resp, err := http.Get("http://" + admin + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == want {
			return string(b)
		}
		time.Sleep(100 * time.Millisecond) // polls another process; not a timing assertion
	}
}

func fetch(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
