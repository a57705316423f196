package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/sim"
)

// TestProgressDoneOfTotal: when the schedule's total is known the progress
// line says done/total and when the last event goes out at the rate so
// far; when it is not (open-ended), only the count.
func TestProgressDoneOfTotal(t *testing.T) {
	p := sim.Snapshot{Elapsed: 10 * time.Second, Sent: 100, Planned: 250, Rate: 10}
	if got := report.ProgressLine(p); !strings.Contains(got, "\tsent 100/250 eta 15s\t") {
		t.Errorf("planned 250, 100 sent in 10s: %q, want sent 100/250 eta 15s", got)
	}
	p.Sent = 250
	if got := report.ProgressLine(p); !strings.Contains(got, "\tsent 250/250\t") {
		t.Errorf("all planned sent: %q, want sent 250/250 and no eta", got)
	}
	p.Planned = 0
	if got := report.ProgressLine(p); !strings.Contains(got, "\tsent 250\t") || strings.Contains(got, "eta") {
		t.Errorf("open-ended: %q, want sent 250 without a total or eta", got)
	}
	if got := report.ProgressFit(sim.Snapshot{Elapsed: 10 * time.Second, Sent: 100, Planned: 250}, 40); !strings.Contains(got, "100/250 eta 15s") {
		t.Errorf("at 40 columns: %q, want the total and eta kept", got)
	}
}

func TestPlanned(t *testing.T) {
	for _, tc := range []struct {
		name   string
		phases []sim.Phase
		want   int64
	}{
		{"count", []sim.Phase{{Count: 200}}, 200},
		{"rate over a duration", []sim.Phase{{Rate: sim.Rate{Freq: 50, Per: time.Second}, Duration: time.Minute}}, 3000},
		{"default rate", []sim.Phase{{Duration: 20 * time.Second}}, 200},
		{"both: the smaller", []sim.Phase{{Rate: sim.Rate{Freq: 10, Per: time.Second}, Duration: time.Minute, Count: 5}}, 5},
		{"phases add up", []sim.Phase{{Count: 5}, {Rate: sim.Rate{Freq: 1, Per: time.Second}, Duration: 10 * time.Second}}, 15},
		{"open-ended", []sim.Phase{{Count: 5}, {Rate: sim.Rate{Freq: 1, Per: time.Second}}}, 0},
	} {
		if got := sim.Planned(tc.phases); got != tc.want {
			t.Errorf("%s: Planned = %d, want %d", tc.name, got, tc.want)
		}
	}
}
