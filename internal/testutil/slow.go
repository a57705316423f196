package testutil

import (
	"os"
	"testing"
	"time"
)

// SlowEnv is the variable that turns the slow tests on: the Chromium
// tests, the release builds, chaos, soak and the long abuse tests. .ci/run
// sets it, so CI runs everything; a plain `go test ./...` runs the unit
// and loopback tests only.
const SlowEnv = "ESPFCTL_SLOW"

// Slow skips the test unless ESPFCTL_SLOW=1 (and always under -short).
// Call it first in a test that takes more than a few seconds, builds
// release artefacts, starts a browser or loads the machine on purpose.
func Slow(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("slow test: skipped under -short")
	}
	if os.Getenv(SlowEnv) != "1" {
		t.Skip("slow test: set " + SlowEnv + "=1")
	}
}

// Deadline is the test's own deadline (go test -timeout), or the zero
// time, which means none: the bound for a read or a write on a connection
// that must fail a hung test, never a slow machine.
func Deadline(t interface{ Deadline() (time.Time, bool) }) time.Time {
	d, _ := t.Deadline()
	return d
}
