package runner

import (
	"context"
	"errors"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/sim"
)

// TestRunProbe runs the scenario ESPFCTL_PROBE_SCENARIO names (a file),
// as `espfctl run` does, and logs where the process's memory is: the first
// time the requests in flight reach the cap (goroutines, heap and stacks
// in use, after a GC), and at the end. ESPFCTL_PROBE_HEAP=FILE writes a
// heap profile at the cap (with -memprofilerate 1, every allocation); with
// -cpuprofile it gives run's CPU profile. It is a measurement, for
// BENCHMARKS.md (issue 14), not a check:
//
//	ESPFCTL_PROBE_SCENARIO=$PWD/burst.yaml ESPFCTL_PROBE_HEAP=$PWD/heap.out go test -count=1 -run TestRunProbe -v -memprofilerate 1 ./internal/runner
//	go tool pprof -top -inuse_space heap.out
//	ESPFCTL_PROBE_SCENARIO=$PWD/run-100000.yaml go test -count=1 -run TestRunProbe -cpuprofile cpu.out ./internal/runner
func TestRunProbe(t *testing.T) {
	path := os.Getenv("ESPFCTL_PROBE_SCENARIO")
	if path == "" {
		t.Skip("set ESPFCTL_PROBE_SCENARIO=FILE to probe a run")
	}
	s, err := scenario.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := EngineConfig(s, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.Report = scenario.Report{}
	logMem := func(when string) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		t.Logf("%s: %d goroutines, heap in use %.1f MB, stacks in use %.1f MB, from the OS %.1f MB",
			when, runtime.NumGoroutine(), float64(m.HeapInuse)/(1<<20), float64(m.StackInuse)/(1<<20), float64(m.Sys)/(1<<20))
	}
	full := false
	res, err := Run(context.Background(), s, Options{ProgressEvery: 100e6, Progress: func(sn sim.Snapshot) {
		if !full && sn.InFlight >= int64(cfg.MaxInFlight) {
			full = true // the progress callback runs on one goroutine
			logMem("the in-flight cap full")
			if heap := os.Getenv("ESPFCTL_PROBE_HEAP"); heap != "" {
				f, err := os.Create(heap)
				if err == nil {
					err = errors.Join(pprof.WriteHeapProfile(f), f.Close())
				}
				if err != nil {
					t.Errorf("heap profile: %v", err)
				}
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	logMem("the end")
	t.Logf("%d events, pass %v, cap bound %d times", res.Summary.Events, res.Pass(), res.Summary.CapBound)
}
