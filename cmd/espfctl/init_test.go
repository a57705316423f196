package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/starter"
	"github.com/espfctl/espfctl/internal/testutil"
)

// runtimeOf is the program each starter needs.
var runtimeOf = map[string]string{"python": "python3", "php": "php"}

// starterCreds are the credentials each scheme's starter is written with
// (secrets in the environment, as a user would give them).
var starterCreds = map[string]struct{ flags, env []string }{
	sign.SchemeBasic:     {[]string{"--auth", "basic", "--user", "pb"}, []string{"ESPFCTL_PASSWORD=Pa55-word"}},
	sign.SchemeCustom:    {[]string{"--auth", "custom", "--scheme", "Plain"}, []string{"ESPFCTL_CREDENTIALS=Cr3dential5"}},
	sign.SchemeSignature: {[]string{"--auth", "signature", "--key-id", "pb-key"}, []string{"ESPFCTL_KEY=S1gning-Key"}},
	sign.SchemeBearer:    {[]string{"--auth", "bearer", "--i-env", "3"}, []string{"ESPFCTL_KEY=Token-Key"}},
}

// startStarter runs DIR/start PORT on a free port and returns its URL
// once it answers.
func startStarter(t *testing.T, dir string) string {
	t.Helper()
	port := freePort(t)
	cmd := testutil.Command(t, filepath.Join(dir, "start"), port)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return "http://127.0.0.1:" + port
		}
		select {
		case err := <-exited:
			t.Fatalf("%s/start %s ended without listening: %v", dir, port, err)
		case <-time.After(50 * time.Millisecond): // polls until it listens: the test's -timeout bounds it
		}
	}
}

// freePort is a TCP port nothing listens on (a moment ago).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// writeStarter runs espfctl init LANG DIR with scheme's credentials.
func writeStarter(t *testing.T, lang, scheme string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	c := starterCreds[scheme]
	for _, e := range c.env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	ios, _, errb := testutil.IO()
	if code := run(t.Context(), append([]string{"init", lang, dir}, c.flags...), ios); code != exitOK {
		t.Fatalf("init %s: exit %d: %s", lang, code, errb)
	}
	return dir
}

// TestStartersPassCheck: every starter, with every scheme, passes check
// --strict (every case, the final state included) and a lifecycle run
// whose final state the Application shows exactly; its own tests pass.
func TestStartersPassCheck(t *testing.T) {
	testutil.Slow(t)
	for _, l := range starter.Langs() {
		t.Run(l.Name, func(t *testing.T) {
			if _, err := exec.LookPath(runtimeOf[l.Name]); err != nil {
				t.Skipf("%s is not installed (.ci/run installs it)", runtimeOf[l.Name])
			}
			for _, scheme := range sign.Schemes {
				t.Run(scheme, func(t *testing.T) {
					dir := writeStarter(t, l.Name, scheme)
					url := startStarter(t, dir)
					flags := starterCreds[scheme].flags
					state := url + "/state/{group}/{id}"
					ios, out, errb := testutil.IO()
					args := append([]string{"check", "--url", url + "/espf", "--strict", "--soak", "0", "--slow", "1h", "--state-url", state}, flags...)
					if code := run(t.Context(), args, ios); code != exitOK {
						t.Fatalf("check --strict: exit %d\n%s\n%s", code, out, errb)
					}
					ios, out, errb = testutil.IO()
					args = append([]string{"send", "--url", url + "/espf", "--lifecycle", "--count", "300", "--rate", "100/s", "--state-url", state, "--json"}, flags...)
					if code := run(t.Context(), args, ios); code != exitOK {
						t.Fatalf("send --lifecycle: exit %d\n%s\n%s", code, out, errb)
					}
					if !regexp.MustCompile(`"mismatch": 0\b`).MatchString(out.String()) || !regexp.MustCompile(`"match": [1-9]`).MatchString(out.String()) {
						t.Errorf("send --lifecycle: the final state does not match:\n%s", out)
					}
				})
			}
			t.Run("own tests", func(t *testing.T) {
				dir := writeStarter(t, l.Name, sign.SchemeBasic)
				f := strings.Fields(l.Test)
				if _, err := exec.LookPath(f[0]); err != nil {
					t.Skipf("%s is not installed (.ci/run installs it)", f[0])
				}
				cmd := testutil.Command(t, f[0], f[1:]...)
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", l.Test, err, out)
				}
			})
		})
	}
}

// TestBrokenStarterCaught: one line of the Python starter broken (the
// repeat check removed: a re-send is inserted again and fails with a
// unique-key error, answered 500) makes check fail, naming the case.
func TestBrokenStarterCaught(t *testing.T) {
	testutil.Slow(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	dir := writeStarter(t, "python", sign.SchemeBasic)
	breakLine(t, filepath.Join(dir, "app.py"), `if db.execute("SELECT 1 FROM events WHERE i_event = ?", (i_event,)).fetchone():`, "if False:")
	url := startStarter(t, dir)
	ios, out, errb := testutil.IO()
	args := append([]string{"check", "--url", url + "/espf", "--soak", "0", "--slow", "1h", "--only", "2/duplicate"}, starterCreds[sign.SchemeBasic].flags...)
	if code := run(t.Context(), args, ios); code != exitFailed {
		t.Fatalf("check against the broken starter: exit %d, want %d\n%s\n%s", code, exitFailed, out, errb)
	}
	if !strings.Contains(out.String(), "FAIL\t2/duplicate\t500 Internal Server Error") {
		t.Errorf("check does not fail 2/duplicate on the re-send's 500:\n%s", out)
	}
}

// breakLine replaces line in the file at path, which must hold it.
func breakLine(t *testing.T, path, line, with string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), line) {
		t.Fatalf("%s has no line %q", path, line)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), line, with, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStarterDurable: the Python starter, killed by SIGKILL and started
// again three times while requests are in flight (its restart script),
// loses nothing it answered 200 and applies nothing twice.
func TestStarterDurable(t *testing.T) {
	testutil.Slow(t)
	for _, l := range starter.Langs() {
		t.Run(l.Name, func(t *testing.T) {
			out := restartRun(t, l.Name, nil, exitOK)
			for _, want := range []string{`"lost_after_200": 0`, `"applied_twice": 0`} {
				if !strings.Contains(out, want) {
					t.Errorf("the durability section lacks %s:\n%s", want, out)
				}
			}
			if n := strings.Count(out, `"exit_code": 0`); n != 3 {
				t.Errorf("%d restarts that exited 0, want 3:\n%s", n, out)
			}
		})
	}
}

// TestBrokenStarterLosesAfter200: one line of the Python starter broken
// the way a "respond now, work later" handler is: the work is queued behind
// a worker that has not caught up when the crash comes (a minute behind: far
// longer than the run, so no machine is fast enough to do it before the
// kill). The restarts lose events it answered 200, and send says so.
func TestBrokenStarterLosesAfter200(t *testing.T) {
	testutil.Slow(t)
	out := restartRun(t, "python", func(dir string) {
		breakLine(t, filepath.Join(dir, "app.py"), `outcome = self.store.deliver(event, i_event, body)`,
			`outcome = "queued"; threading.Timer(60, self.store.deliver, (event, i_event, body)).start()`)
	}, exitFailed)
	if regexp.MustCompile(`"lost_after_200": [1-9]`).FindString(out) == "" {
		t.Errorf("no loss after 200 reported:\n%s", out)
	}
}

// restartRun writes lang's starter (basic), lets edit change it,
// starts it with its restart script and runs send --lifecycle with three
// restarts; it wants exit code want and returns send's JSON report.
func restartRun(t *testing.T, lang string, edit func(dir string), want int) string {
	t.Helper()
	if _, err := exec.LookPath(runtimeOf[lang]); err != nil {
		t.Skipf("%s is not installed (.ci/run installs it)", runtimeOf[lang])
	}
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid is not installed")
	}
	dir := writeStarter(t, lang, sign.SchemeBasic)
	if edit != nil {
		edit(dir)
	}
	port := freePort(t)
	restart := filepath.Join(dir, "restart") + " " + port
	t.Cleanup(func() { // the last instance, started by the last restart
		if b, err := os.ReadFile(filepath.Join(dir, "data", "pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	})
	if out, err := testutil.Command(t, "sh", "-c", restart).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", restart, err, out)
	}
	url := "http://127.0.0.1:" + port
	ios, out, errb := testutil.IO()
	args := append([]string{"send", "--url", url + "/espf", "--lifecycle", "--entities", "60", "--rate", "100/s",
		"--state-url", url + "/state/{group}/{id}", "--restart-cmd", restart, "--json"}, starterCreds[sign.SchemeBasic].flags...)
	if code := run(t.Context(), args, ios); code != want {
		t.Fatalf("send --restart-cmd: exit %d, want %d\n%s\n%s", code, want, out, errb)
	}
	return out.String()
}
