package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/espfctl/espfctl/internal/testutil"
)

// restartTarget is an Application the restart tests SIGKILL and start
// again with a restart command: a process started here first, then by the
// command (its pid in DIR/pid), listening on the same address each time.
type restartTarget struct {
	dir, addr string
	start     string // the shell command that starts it in the background and waits until it listens
}

// startRestartTarget starts the Application (start: a command line that
// listens on $ADDR and writes $DIR/ready once it does, $DIR a directory of
// its own) and returns it.
func startRestartTarget(t *testing.T, start string) *restartTarget {
	t.Helper()
	dir := t.TempDir()
	rt := &restartTarget{dir: dir, addr: freeAddr(t)}
	rt.start = fmt.Sprintf(`rm -f %[1]s/ready; %[2]s </dev/null >>%[1]s/log 2>&1 & echo $! >%[1]s/pid
i=0; while [ ! -f %[1]s/ready ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i+1)); done
if [ ! -f %[1]s/ready ]; then echo "the Application did not start:"; tail -5 %[1]s/log; exit 1; fi`, dir,
		strings.NewReplacer("$ADDR", rt.addr, "$DIR", dir).Replace(start))
	t.Cleanup(func() { rt.kill() })
	cmd := testutil.Command(t, "sh", "-c", rt.start)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start the Application: %v: %s", err, out)
	}
	return rt
}

// restartCmd SIGKILLs the Application and starts it again.
func (rt *restartTarget) restartCmd() string {
	return fmt.Sprintf(`kill -KILL "$(cat %s/pid)"; %s`, rt.dir, rt.start)
}

func (rt *restartTarget) kill() {
	b, err := os.ReadFile(filepath.Join(rt.dir, "pid"))
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// sendRestarts runs send --lifecycle with --restart-cmd against rt and
// returns its exit code and JSON report.
func sendRestarts(t *testing.T, rt *restartTarget, extra ...string) (int, map[string]any, string) {
	t.Helper()
	ios, out, errb := testutil.IO()
	args := append([]string{"send", "--url", "http://" + rt.addr + "/espf", "--auth", "signature", "--key-id", "pb", "--key", "k1",
		"--lifecycle", "--entities", "40", "--rate", "100/s", "--no-progress", "--json",
		"--state-url", "http://" + rt.addr + "/state/{group}/{id}", "--restart-cmd", rt.restartCmd()}, extra...)
	code := run(t.Context(), args, ios)
	for _, line := range strings.Split(errb.String(), "\n") {
		if strings.HasPrefix(line, "espfctl: durability") {
			t.Log(line) // the figures of the note: go test -v -run TestRestart ./cmd/espfctl
		}
	}
	var rep map[string]any
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil && code != exitError {
		t.Fatalf("send exit %d, report %q: %v; stderr %s", code, out, err, errb)
	}
	return code, rep, errb.String()
}

func durability(t *testing.T, rep map[string]any) (restarts []any, lost, twice float64) {
	t.Helper()
	d, ok := rep["durability"].(map[string]any)
	if !ok {
		t.Fatalf("no durability section in %v", rep)
	}
	restarts, _ = d["restarts"].([]any)
	lost, _ = d["lost_after_200"].(float64)
	twice, _ = d["applied_twice"].(float64)
	return restarts, lost, twice
}

func testAppPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("espfctl-testapp")
	if err != nil {
		t.Fatalf("espfctl-testapp is not on PATH (TestMain installs it): %v", err)
	}
	return p
}

// TestRestartCatchesAckBeforeCommit: an Application that answers 200 and
// applies the event a moment later loses, when it is killed, events the
// ESPF has removed from its queue: send exits 1 with lost_after_200 > 0.
// TestRestartCatchesMemoryDedup: one that remembers the i_events it has
// seen in memory applies a re-sent event again after a restart: exit 1
// with applied_twice > 0. TestRestartServeHolds: serve --journal,
// SIGKILLed and started again 3 times, loses nothing and applies nothing
// twice: exit 0.
func TestRestartCatchesAckBeforeCommit(t *testing.T) {
	t.Parallel()
	rt := startRestartTarget(t, testAppPath(t)+" early $ADDR $DIR")
	code, rep, stderr := sendRestarts(t, rt)
	restarts, lost, _ := durability(t, rep)
	if code != exitFailed || lost == 0 || len(restarts) != 3 {
		t.Errorf("send against an Application that answers before it commits: exit %d, lost_after_200 %v, %d restarts; want exit 1, lost > 0, 3 restarts\n%s", code, lost, len(restarts), stderr)
	}
	if !strings.Contains(stderr, "lost after their 200") {
		t.Errorf("stderr does not say what was lost: %s", stderr)
	}
}

func TestRestartCatchesMemoryDedup(t *testing.T) {
	t.Parallel()
	rt := startRestartTarget(t, testAppPath(t)+" memory $ADDR $DIR")
	code, rep, stderr := sendRestarts(t, rt)
	restarts, lost, twice := durability(t, rep)
	if code != exitFailed || twice == 0 || lost != 0 || len(restarts) != 3 {
		t.Errorf("send against an Application that deduplicates in memory: exit %d, applied_twice %v, lost %v, %d restarts; want exit 1, twice > 0, 0 lost, 3 restarts\n%s", code, twice, lost, len(restarts), stderr)
	}
}

func TestRestartServeHolds(t *testing.T) {
	t.Parallel()
	rt := startRestartTarget(t, espfctlBinary(t)+" serve --listen $ADDR --journal $DIR/events.db --auth signature --key-id pb --key k1 --ready-file $DIR/ready")
	code, rep, stderr := sendRestarts(t, rt)
	restarts, lost, twice := durability(t, rep)
	if code != exitOK || lost != 0 || twice != 0 || len(restarts) != 3 {
		t.Errorf("send against serve --journal: exit %d, lost %v, twice %v, %d restarts; want exit 0, none lost or twice, 3 restarts\n%s", code, lost, twice, len(restarts), stderr)
	}
	for _, r := range restarts {
		r := r.(map[string]any)
		if r["exit_code"] != 0.0 || r["answered_again_ms"] == nil {
			t.Errorf("restart %v: want exit 0 and a time to answer again", r)
		}
	}
}

// TestRestartCommandFails: a restart command that fails ends the run,
// exit 3, with its output; --restart-cmd without --state-url is a usage
// error.
func TestRestartCommandFails(t *testing.T) {
	t.Parallel()
	srv := startRestartTarget(t, testAppPath(t)+" memory $ADDR $DIR")
	ios, _, errb := testutil.IO()
	code := run(t.Context(), []string{"send", "--url", "http://" + srv.addr + "/espf", "--auth", "signature", "--key-id", "pb", "--key", "k1",
		"--lifecycle", "--entities", "20", "--rate", "100/s", "--no-progress",
		"--state-url", "http://" + srv.addr + "/state/{group}/{id}", "--restart-cmd", "echo cannot reach docker; exit 7"}, ios)
	if code != exitError || !strings.Contains(errb.String(), "cannot reach docker") || !strings.Contains(errb.String(), "exit status 7") {
		t.Errorf("a failing restart command: exit %d, stderr %s; want exit 3 with its output", code, errb)
	}
	ios, _, errb = testutil.IO()
	if code := run(t.Context(), []string{"send", "--url", "http://" + srv.addr + "/espf", "--auth", "signature", "--key-id", "pb", "--key", "k1",
		"--restart-cmd", "true"}, ios); code != exitUsage || !strings.Contains(errb.String(), "needs --state-url") {
		t.Errorf("--restart-cmd without --state-url: exit %d, %s; want 2", code, errb)
	}
}

// TestCheckRestart: check's 2/restart grades the same three the same way:
// the Application that answers before it commits fails with events lost
// after their 200, the one that deduplicates in memory with events applied
// twice, and serve --journal passes.
func TestCheckRestart(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, start string
		code        int
		want        string
	}{
		{"answers before it commits", testAppPath(t) + " early $ADDR $DIR", exitFailed, "lost after their 200 (i_event "},
		{"deduplicates in memory", testAppPath(t) + " memory $ADDR $DIR", exitFailed, "applied twice (i_event "},
		{"serve --journal", espfctlBinary(t) + " serve --listen $ADDR --journal $DIR/events.db --auth signature --key-id pb --key k1 --ready-file $DIR/ready",
			exitOK, "none was applied again by its copy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := startRestartTarget(t, tt.start)
			ios, out, errb := testutil.IO()
			code := run(t.Context(), []string{"check", "--url", "http://" + rt.addr + "/espf", "--auth", "signature", "--key-id", "pb", "--key", "k1",
				"--state-url", "http://" + rt.addr + "/state/{group}/{id}", "--restart-cmd", rt.restartCmd(), "--json", "2/restart"}, ios)
			var rep struct {
				Checks []struct {
					ID, Grade, Consequence, Curl string
				} `json:"checks"`
			}
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Checks) != 1 {
				t.Fatalf("check exit %d: %q %v; stderr %s", code, out, err, errb)
			}
			c := rep.Checks[0]
			if code != tt.code || c.ID != "2/restart" || !strings.Contains(c.Consequence, tt.want) {
				t.Errorf("check 2/restart: exit %d, %s: %s; want exit %d saying %q", code, c.Grade, c.Consequence, tt.code, tt.want)
			}
			if tt.code == exitFailed && !strings.Contains(c.Curl, "# i_event ") {
				t.Errorf("the reproducer does not say which event was answered when: %s", c.Curl)
			}
		})
	}
}

// TestRestartScenario: a scenario's target.restart_cmd and
// target.restarts run the same restarts, and expect.durability grades
// them: the Application that deduplicates in memory fails it.
func TestRestartScenario(t *testing.T) {
	t.Parallel()
	rt := startRestartTarget(t, testAppPath(t)+" memory $ADDR $DIR")
	file := filepath.Join(t.TempDir(), "restart.yaml")
	yaml := fmt.Sprintf(`version: 1
name: restart
auth: {scheme: signature, key_id: pb, key: k1}
target:
  url: http://%[1]s/espf
  state_url: http://%[1]s/state/{group}/{id}
  restart_cmd: %[2]q
  restarts: 2
events:
  lifecycle: {entities: 40}
phases:
  - {rate: 100/s, duration: 10s}
delivery:
  duplicates: 25%%
expect:
  durability: 100%%
`, rt.addr, rt.restartCmd())
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, out, errb := testutil.IO()
	code := run(t.Context(), []string{"run", file, "--json", "--no-progress"}, ios)
	var rep struct {
		Pass     bool               `json:"pass"`
		Measured map[string]float64 `json:"measured"`
		Summary  struct {
			Durability struct {
				Restarts     []any   `json:"restarts"`
				AppliedTwice float64 `json:"applied_twice"`
			} `json:"durability"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("run exit %d: %q: %v; stderr %s", code, out, err, errb)
	}
	d, ok := rep.Measured["durability"]
	if code != exitFailed || rep.Pass || !ok || d >= 1 || len(rep.Summary.Durability.Restarts) != 2 || rep.Summary.Durability.AppliedTwice == 0 {
		t.Errorf("run with target.restart_cmd against an Application that deduplicates in memory: exit %d, pass %t, durability %v (%t), %d restarts, applied twice %v; want exit 1, failed, < 100%%, 2 restarts, > 0\n%s",
			code, rep.Pass, d, ok, len(rep.Summary.Durability.Restarts), rep.Summary.Durability.AppliedTwice, errb)
	}
}
