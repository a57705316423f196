package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/testutil"
)

// The chaos tests run espfctl as processes: send → serve --journal FILE at
// 500/s while serve is killed (SIGKILL) and restarted, or gone for a
// while, with send's default retry waits. Every event must be delivered,
// the sender's 200s must be exactly the journal's first deliveries, none
// lost, none first-delivered twice.
//
// How long serve takes to come back depends on the machine, so send never
// gives up here (--max-attempts and --drain past any restart): an event
// that a faster machine delivers on its 3rd attempt may need its 12th on a
// busy one, and both are a pass. That the default policy carries an event
// across an outage of a given length is sim's to test, on a fake clock.
//
// A slow test (ESPFCTL_SLOW=1); ESPFCTL_CHAOS=long runs longer schedules
// and adds the 30 s outage:
//
//	ESPFCTL_SLOW=1 ESPFCTL_CHAOS=long go test -run TestChaos -v ./cmd/espfctl
//
// Load goes to 127.0.0.1 only, bounded in count.
func TestChaos(t *testing.T) {
	testutil.Slow(t)
	long := os.Getenv("ESPFCTL_CHAOS") == "long"
	bin := espfctlBinary(t)
	type outage struct {
		after, gone time.Duration // kill after this long, restart after gone (0: at once)
	}
	sigkills := func(every time.Duration) []outage {
		return []outage{{every, 0}, {every, 0}, {every, 0}}
	}
	tests := []struct {
		name     string
		events   int
		outages  []outage
		longOnly bool
	}{
		{"3 SIGKILLs", 2000, sigkills(700 * time.Millisecond), false},
		{"gone 5s", 3000, []outage{{time.Second, 5 * time.Second}}, false},
		{"3 SIGKILLs long", 15000, sigkills(7 * time.Second), true},
		{"gone 30s", 5000, []outage{{2 * time.Second, 30 * time.Second}}, true},
	}
	for _, tt := range tests {
		if tt.longOnly && !long {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			srv := &serveProc{t: t, bin: bin, addr: freeAddr(t), db: filepath.Join(dir, "events.db")}
			srv.start()
			results := filepath.Join(dir, "attempts.jsonl")
			send := testutil.Command(t, bin, "send", "--url", "http://"+srv.addr+"/espf", "--auth", "signature", "--key-id", "pb", "--key", "k1",
				"--rate", "500/s", "--count", fmt.Sprint(tt.events), "--results", results, "--json",
				"--max-attempts", "1000000", "--drain", forever.String()) // never give up: see above
			var sendOut, sendErr bytes.Buffer
			send.Stdout, send.Stderr = &sendOut, &sendErr
			start := time.Now()
			if err := send.Start(); err != nil {
				t.Fatal(err)
			}
			sent := make(chan error, 1)
			go func() { sent <- send.Wait() }()
			for _, o := range tt.outages {
				time.Sleep(o.after) // chaos on a schedule; nothing below asserts timing
				srv.kill()
				time.Sleep(o.gone)
				srv.start()
			}
			sendErrV := <-sent // only the test's -timeout bounds the wait
			elapsed := time.Since(start)
			if sendErrV != nil {
				t.Errorf("send: %v (want exit 0: every event delivered); stderr:\n%s", sendErrV, tail(sendErr.String(), 2000))
			}
			srv.stop()

			// The sender's view: one 200 per event.
			ok := map[int64]int{}
			var attempts, maxAttempt int
			answers := map[string]int{}
			f, err := os.Open(results)
			if err != nil {
				t.Fatal(err)
			}
			err = sim.ReadRecords(f, results, func(r *sim.Record) {
				attempts++
				maxAttempt = max(maxAttempt, r.Attempt)
				answers[r.Answer()]++
				if r.Status == 200 && !r.Duplicate {
					ok[r.IEvent]++
				}
			})
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			// The receiver's view: the journal.
			out, err := testutil.Command(t, bin, "journal", srv.db, "--json").Output()
			if err != nil {
				t.Fatalf("journal --json: %v", err)
			}
			firsts := map[int64]int{}
			redelivered := 0
			for _, l := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
				var row struct {
					IEvent     int64 `json:"i_event"`
					Deliveries int64 `json:"deliveries"`
				}
				if err := json.Unmarshal(l, &row); err != nil {
					t.Fatalf("journal line %s: %v", l, err)
				}
				firsts[row.IEvent]++
				if row.Deliveries > 1 {
					redelivered++
				}
			}
			lost, twice, extra := 0, 0, 0
			for id := int64(1); id <= int64(tt.events); id++ {
				switch {
				case ok[id] == 0:
					lost++
				case ok[id] > 1:
					twice++
				}
				if firsts[id] != 1 || ok[id] == 0 {
					if firsts[id] == 0 && ok[id] > 0 {
						t.Errorf("i_event %d: answered 200 but not in the journal (lost)", id)
					} else if firsts[id] > 1 {
						t.Errorf("i_event %d: first-delivered %d times", id, firsts[id])
					}
				}
			}
			for id := range firsts {
				if id < 1 || id > int64(tt.events) || ok[id] == 0 {
					extra++
				}
			}
			if lost > 0 || twice > 0 || extra > 0 || len(firsts) != tt.events || len(ok) != tt.events {
				t.Errorf("%d events: %d never answered 200, %d answered 200 twice; journal has %d events, %d of them the sender never saw a 200 for",
					tt.events, lost, twice, len(firsts), extra)
			}
			t.Logf("%d events in %s (serve restarted %d times): %d attempts, at most %d for one event; answers %v; %d events journaled with more than one delivery (a 200 lost in a kill, re-sent)",
				tt.events, elapsed.Round(100*time.Millisecond), srv.starts-1, attempts, maxAttempt, answers, redelivered)
		})
	}
}

// serveProc is espfctl serve as a process that can be killed and started
// again on the same address and journal.
type serveProc struct {
	t        *testing.T
	bin      string
	addr, db string
	cmd      *exec.Cmd
	starts   int
}

var listening = regexp.MustCompile(`listening on http://(\S+?)/`)

func (s *serveProc) start() {
	s.t.Helper()
	for {
		cmd := testutil.Command(s.t, s.bin, "serve", "--listen", s.addr, "--journal", s.db, "--auth", "signature", "--key-id", "pb", "--key", "k1")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			s.t.Fatal(err)
		}
		// stdout (one line per delivery) goes to /dev/null: nobody reads it
		if err := cmd.Start(); err != nil {
			s.t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		up := false
		var seen strings.Builder
		for sc.Scan() {
			seen.WriteString(sc.Text() + "\n")
			if listening.MatchString(sc.Text()) {
				up = true
				break
			}
		}
		if up {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			s.cmd = cmd
			s.starts++
			return
		}
		_ = cmd.Wait()
		if !strings.Contains(seen.String(), "address already in use") {
			s.t.Fatalf("serve would not start on %s:\n%s", s.addr, seen.String())
		}
		time.Sleep(50 * time.Millisecond) // the port is still held a moment after a kill; try again
	}
}

// kill is SIGKILL: no drain, no close of the journal.
func (s *serveProc) kill() {
	s.t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		s.t.Fatal(err)
	}
	_ = s.cmd.Wait()
}

// stop is SIGINT: serve drains and exits 0.
func (s *serveProc) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		s.t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		s.t.Errorf("serve after SIGINT: %v", err)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
