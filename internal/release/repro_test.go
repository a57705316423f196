package release

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/testutil"
)

// TestBuildIgnoresTheBuildersGoEnv: the same sources build to the same
// bytes whether or not the builder's environment says
// GOFLAGS=-buildvcs=false (or -race, or another GOAMD64), and the binary
// names the commit it was given (-X main.commit, since the build reads no
// VCS).
func TestBuildIgnoresTheBuildersGoEnv(t *testing.T) {
	testutil.Slow(t) // two builds
	root := filepath.Join("..", "..")
	host := Target{runtime.GOOS, runtime.GOARCH}
	st := Stamp{Version: testVersion, Commit: "0123456789abcdef0123456789abcdef01234567", Time: testTime}
	build := func(env ...string) []byte {
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		out := filepath.Join(t.TempDir(), host.BinaryName())
		if err := Build(t.Context(), root, host, st, out); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	plain := build()
	other := build("GOFLAGS=-buildvcs=false -tags=netgo", "GOAMD64=v3", "GOARM64=v8.2")
	if !bytes.Equal(plain, other) {
		t.Errorf("the builder's GOFLAGS/GOAMD64 changed the binary (%d vs %d bytes)", len(plain), len(other))
	}
	bin := filepath.Join(t.TempDir(), host.BinaryName())
	if err := os.WriteFile(bin, plain, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "espfctl " + testVersion + " (0123456789ab, 2026-01-02T03:04:05Z) "; !strings.HasPrefix(string(got), want) {
		t.Errorf("espfctl version = %q, want it to start with %q", got, want)
	}
}
