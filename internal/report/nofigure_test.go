package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/term"
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

// TestWhyCountsEachFailedAttemptOnce: with the built-in receiver, an
// attempt it cut off (a fault: no answer) is also the sender's transport
// error; the "why" table counts it once, in the text report's words, not
// Go's ("eof … EOF").
func TestWhyCountsEachFailedAttemptOnce(t *testing.T) {
	r := fixedRun(t)
	r.Rejections = []report.Rejection{{Status: 401, Reason: "basic password does not match", Count: 3}, {Status: 0, Reason: "fault: reset", Count: 5}}
	r.Summary.Errors = []report.ErrorReason{{Class: "eof", Count: 5, Example: `Post "http://127.0.0.1:1/": EOF`}}
	var sum int64
	for _, rs := range r.Page().Reasons {
		sum += rs.Count
		if strings.Contains(rs.Text, "Post ") {
			t.Errorf("row %q carries Go's error text", rs.Text)
		}
	}
	if sum != 8 {
		t.Errorf("the why rows add up to %d attempts, want 8 (3 refused, 5 cut off)", sum)
	}
	var text bytes.Buffer
	if err := report.RunText(&text, r, term.Layout{}); err != nil {
		t.Fatal(err)
	}
	if want := "error\teof\t× 5\t" + r.Summary.Errors[0].Words() + "\n"; !strings.Contains(text.String(), want) {
		t.Errorf("the text report does not say %q:\n%s", want, text.String())
	}
	if got := r.Summary.Errors[0].Words(); got != "the connection was closed before an answer came (EOF)" {
		t.Errorf("Words = %q", got)
	}
}
