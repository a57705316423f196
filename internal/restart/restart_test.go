package restart_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/restart"
)

// TestPlan: the restarts fall in the middle of the planned stream, one in
// each slice, in order, the same for a seed and elsewhere for another.
func TestPlan(t *testing.T) {
	for _, n := range []int{1, 3, 7} {
		at := restart.Plan(n, 1000, 1)
		if len(at) != n || !slices.IsSorted(at) || at[0] < 150 || at[n-1] > 850 {
			t.Errorf("Plan(%d, 1000, 1) = %v: want %d sorted points in [150, 850]", n, at, n)
		}
		if !slices.Equal(at, restart.Plan(n, 1000, 1)) {
			t.Errorf("Plan(%d, 1000, 1) differs between calls", n)
		}
	}
	if slices.Equal(restart.Plan(3, 1000, 1), restart.Plan(3, 1000, 2)) {
		t.Error("seeds 1 and 2 plan the same points")
	}
	if at := restart.Plan(3, 2, 1); at[0] < 1 {
		t.Errorf("a tiny stream: %v, want points after the first event", at)
	}
}

// TestCommandFails: a command that exits non-zero is an *Error with its
// exit code and output, and no exit code of its own in the error chain
// (espfctl's exit code is 3, not the command's).
func TestCommandFails(t *testing.T) {
	r, err := restart.Command{Shell: "echo cannot reach docker; exit 7"}.Run(t.Context(), 1)
	var re *restart.Error
	if !errors.As(err, &re) || re.ExitCode != 7 || r.ExitCode != 7 || !strings.Contains(err.Error(), "cannot reach docker") {
		t.Fatalf("Run = %+v, %v; want exit 7 with its output", r, err)
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		t.Errorf("the error chain lends the command's exit code: %T", coded)
	}
	if _, err := (restart.Command{Shell: "true"}).Run(t.Context(), 1); err != nil {
		t.Errorf("true: %v", err)
	}
}

// TestSchedulerOneAtATime: due restarts start at attempts, one after the
// other (the command fails if another one runs), in order.
func TestSchedulerOneAtATime(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "lock")
	cmd := restart.Command{Shell: "mkdir " + lock + " || { echo two at once; exit 1; }; sleep 0.05; rmdir " + lock}
	var failed atomic.Bool
	s := restart.NewScheduler(t.Context(), cmd, []int64{1, 2, 3}, func(error) { failed.Store(true) })
	for range 10 {
		s.Emitted()
	}
	for s.Ran() < 3 && !failed.Load() {
		for range 8 {
			go s.Attempt(1)
		}
		time.Sleep(time.Millisecond)
	}
	done, err := s.Wait(time.Now())
	if err != nil || len(done) != 3 {
		t.Fatalf("Wait = %d restarts, %v; want 3, none failed", len(done), err)
	}
	for i, r := range done {
		if r.N != i+1 || r.ExitCode != 0 || (i > 0 && r.At.Before(done[i-1].End())) {
			t.Errorf("restart %d: %+v; want N %d, exit 0, after the previous one ended", i, r, i+1)
		}
	}
}
