package testutil

import (
	"os/exec"
	"testing"
)

// Command is exec.Command for a process that a test starts: the process,
// and every process it starts in turn, ends when the test ends, whatever
// its outcome. It runs in a process group of its own, which the test's
// cleanup kills (SIGKILL) and reaps; on Linux the kernel also kills it
// when the test binary dies (Pdeathsig), so a test killed by -timeout or
// by hand leaves no orphan behind.
//
// The test may Wait for the command itself, before or during the cleanup:
// the cleanup's kill is harmless once the process is gone.
func Command(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	ownGroup(cmd)
	t.Cleanup(func() { end(cmd) })
	return cmd
}

// end kills cmd's process group, once the command was started, and reaps
// the process if nobody else did.
func end(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	killGroup(cmd.Process)
	// Process.Wait, not cmd.Wait: the test may be waiting in cmd.Wait on
	// another goroutine; a second Process.Wait then fails (the process was
	// reaped) without touching cmd's fields.
	_, _ = cmd.Process.Wait()
}
