package report_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/espfctl/espfctl/internal/verify"
)

// fixedRun is a finished run with one passing and one failing
// expectation, with every time fixed.
func fixedRun(t *testing.T) *report.Run {
	t.Helper()
	s, err := scenario.ParseEnv("golden.yaml", []byte(`version: 1
name: golden
auth: {scheme: basic, user: u, password: p}
phases: [{rate: 10/s, count: 20}]
expect:
  delivered: 100%
  p99: "< 1ms"
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)
	sum := &report.Summary{Start: start, End: start.Add(2 * time.Second), Events: 20, Attempts: 21,
		TargetRate: 10, AchievedRate: 10, Outcomes: report.Outcomes{DeliveredFirstTry: 19, DeliveredAfterRetry: 1},
		ByAnswer: map[string]int64{"200": 20, "503": 1}, ByType: map[string]report.TypeCounts{"Subscriber/Created": {Events: 20, Delivered: 20}},
		Latency: report.Quantiles{Count: 21, P50MS: 1.5, P90MS: 2, P99MS: 3, P999MS: 3, MaxMS: 3}}
	m := scenario.Measured{"delivered": 1, "p99": 0.003}
	return &report.Run{Scenario: s, Start: start, Elapsed: 2 * time.Second, URL: "http://127.0.0.1:1/", Builtin: true,
		Summary: sum, Receiver: &verify.Stats{Deliveries: 21, FirstDelivered: 20, Faults: 1}, Measured: m,
		Outcomes: scenario.Evaluate(s.Expect, m)}
}

func TestRunText(t *testing.T) {
	for _, tty := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "terminal"}[tty]
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := report.RunText(&out, fixedRun(t), tty, term.Palette{}); err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, out.Bytes())
		})
	}
}
