package verify_test

import (
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/espfctl/espfctl/internal/verify"
)

// TestLineWriterNeverBlocks: with a writer nobody reads, handing a line
// over never waits; past the queue lines are dropped and counted, and
// after StuckAfter the writer reports itself stuck, and the receiver's
// health says so.
func TestLineWriterNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe() // never read
		lw := verify.NewLineWriter(pw, 8)
		start := time.Now()
		// The first line goes to the pipe and blocks there; only once the
		// writer's goroutine is blocked are the other 99 handed over, so
		// it cannot coalesce some of them into that first write (on a
		// machine with more than one core it would, and the count below
		// would depend on the scheduler).
		if !lw.WriteLine([]byte("a delivery line\n")) {
			t.Fatal("the first line was dropped with the queue empty")
		}
		synctest.Wait()
		accepted := 1
		for range 99 {
			if lw.WriteLine([]byte("a delivery line\n")) {
				accepted++
			}
		}
		if time.Since(start) != 0 {
			t.Errorf("handing over 100 lines took %s of the (fake) clock, want no wait at all", time.Since(start))
		}
		if accepted != 9 || lw.Dropped() != int64(100-accepted) {
			t.Errorf("%d accepted, %d dropped; want the one being written and the queue (8), the other 91 dropped", accepted, lw.Dropped())
		}
		time.Sleep(verify.StuckAfter - time.Second)
		synctest.Wait()
		if _, stuck := lw.Stuck(); stuck {
			t.Error("stuck before StuckAfter")
		}
		time.Sleep(2 * time.Second)
		d, stuck := lw.Stuck()
		if !stuck || d < verify.StuckAfter {
			t.Errorf("Stuck = %s, %t after %s blocked; want stuck", d, stuck, verify.StuckAfter+time.Second)
		}
		rc, err := verify.NewReceiver(verify.Config{Log: lw})
		if err != nil {
			t.Fatal(err)
		}
		if h := strings.Join(rc.Health(), "; "); !strings.Contains(h, "stuck for 6s") || !strings.Contains(h, "lines dropped") {
			t.Errorf("health %q: want the stuck writer and the dropped lines", h)
		}
		rc.Close()
		pr.Close() // the blocked write fails, the writer goes on
		if lw.Close(time.Second) != true {
			t.Error("Close did not finish once the pipe was closed")
		}
		if lw.Err() == nil {
			t.Error("the write error on the closed pipe was not kept")
		}
	})
}
