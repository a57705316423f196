package report_test

import (
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/report"
)

// TestHTMLNoFigureIsADash: where nothing was measured (time to delivery
// when nothing was delivered) the HTML summary shows "–", not 0/0/0/0/0;
// measured figures are shown as they are.
func TestHTMLNoFigureIsADash(t *testing.T) {
	r := fixedRun(t)
	r.Summary.TimeToDelivery = report.Quantiles{}
	r.Summary.Outcomes = report.Outcomes{DroppedBy4xx: 20}
	stats := map[string]string{}
	for _, st := range r.Page().Stats {
		stats[strings.SplitN(st[0], " p50", 2)[0]] = st[1]
	}
	if got := stats["time to delivery"]; got != "–" {
		t.Errorf("time to delivery with nothing delivered = %q, want –", got)
	}
	if got := stats["latency"]; got == "–" || !strings.Contains(got, "1.5") {
		t.Errorf("latency, measured = %q, want its figures", got)
	}
}
