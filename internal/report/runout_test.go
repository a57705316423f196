package report_test

import (
	"bytes"
	"strings"
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
	s, err := scenario.Parse("golden.yaml", []byte(`version: 1
name: golden
auth: {scheme: basic, user: u, password: p}
phases: [{rate: 10/s, count: 20}]
expect:
  delivered: 100%
  p99: "< 1ms"
`))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)
	sum := &report.Summary{Start: start, End: start.Add(2 * time.Second), Events: 20, Attempts: 21,
		TargetRate: 10, AchievedRate: 10, Outcomes: report.Outcomes{DeliveredFirstTry: 19, DeliveredAfterRetry: 1},
		ByAnswer: map[string]int64{"200": 20, "503": 1}, ByType: map[string]report.TypeCounts{"Subscriber/Created": {Events: 20, Delivered: 20}},
		Latency:        report.Quantiles{Count: 21, P50MS: 1.5, P90MS: 2, P99MS: 3, P999MS: 3, MaxMS: 3},
		TimeToDelivery: report.Quantiles{Count: 20, P50MS: 1.5, P90MS: 2, P99MS: 1003, P999MS: 1003, MaxMS: 1003}}
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
			if err := report.RunText(&out, fixedRun(t), term.Layout{Aligned: tty}); err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, out.Bytes())
		})
	}
}

// busyRun is fixedRun with everything a terminal report can show: phases,
// transport errors with their fix, the built-in receiver's reasons, a
// dropped list that was cut.
func busyRun(t *testing.T) *report.Run {
	r := fixedRun(t)
	s := r.Summary
	start := s.Start
	s.Outcomes = report.Outcomes{DeliveredFirstTry: 10, DeliveredAfterRetry: 5, DroppedBy4xx: 25}
	s.ByAnswer["401"] = 25
	s.ByAnswer["tls"] = 3
	for i := range 20 {
		s.Dropped = append(s.Dropped, report.DroppedEvent{IEvent: int64(100 + i), EventType: "Subscriber/Created", Status: 401})
	}
	s.Errors = []report.ErrorReason{{Class: "tls", Count: 3, Example: "tls: failed to verify certificate: x509: certificate signed by unknown authority",
		Hint: "the Application's certificate is not signed by a CA this machine trusts: pass --ca-file with the CA's PEM (target.tls.ca_file in a scenario), or --insecure-skip-verify to test without checking it"}}
	s.Phases = []report.PhaseSummary{
		{Index: 0, Name: "before", Start: start, Events: 10, TargetRate: 10, AchievedRate: 9.98, Outcomes: report.Outcomes{DeliveredFirstTry: 10},
			Latency: report.Quantiles{P99MS: 2.5}, TimeToDelivery: report.Quantiles{P50MS: 1.5, P99MS: 2.5}},
		{Index: 1, Name: "flush", Start: start.Add(time.Second), Events: 30, TargetRate: 200, AchievedRate: 199.5, Outcomes: report.Outcomes{DeliveredAfterRetry: 5, DroppedBy4xx: 25},
			Latency: report.Quantiles{P99MS: 3}, TimeToDelivery: report.Quantiles{P50MS: 1003, P99MS: 1003}}}
	r.Rejections = []report.Rejection{{Status: 401, Reason: "basic password does not match", Count: 25}, {Status: 503, Reason: "fault: fail_first", Count: 1}}
	return r
}

// TestRunTextTerminal80 pins the terminal report at 80 columns, with colour
// on and off: the same layout (escapes have no width), and no line wider
// than the terminal.
func TestRunTextTerminal80(t *testing.T) {
	for _, colour := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "colour"}[colour], func(t *testing.T) {
			var out bytes.Buffer
			lay := term.Layout{Aligned: true, Palette: term.NewPalette(colour), Width: 80}
			if err := report.RunText(&out, busyRun(t), lay); err != nil {
				t.Fatal(err)
			}
			for i, l := range strings.Split(out.String(), "\n") {
				if w := term.Width(l); w > 80 {
					t.Errorf("line %d is %d columns wide, more than the terminal's 80: %q", i+1, w, l)
				}
			}
			if colour && !strings.Contains(out.String(), "\x1b[") {
				t.Error("colour on, but no escape in the output")
			}
			testutil.Golden(t, out.Bytes())
		})
	}
}
