package report_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/testutil"
)

// TestProgressWidth pins the live progress line at common terminal widths:
// it always leaves the last column free (a line that fills it wraps, and
// every redraw would leave one behind) and drops whole fields from the end.
func TestProgressWidth(t *testing.T) {
	p := sim.Snapshot{Elapsed: 83 * time.Second, Sent: 1234, Attempts: 1300, InFlight: 3, Delivered: 1200, Resending: 31, Dropped: 3,
		Rate: 19.96, P99: 1234567 * time.Microsecond}
	var out strings.Builder
	for _, w := range []int{0, 120, 100, 80, 60, 40, 20} {
		line := report.ProgressFit(p, w)
		if w > 0 && term.Width(line) >= w {
			t.Errorf("width %d: the line is %d columns: %q", w, term.Width(line), line)
		}
		if !strings.HasPrefix(strings.TrimPrefix(line, "elapsed "), "1m23s") {
			t.Errorf("width %d: %q does not start with the elapsed time", w, line)
		}
		fmt.Fprintf(&out, "%3d %s|\n", w, line)
	}
	testutil.Golden(t, []byte(out.String()))
}
