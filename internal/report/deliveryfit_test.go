package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/verify"
)

// TestDeliveryFitsTheTerminal: serve's terminal lines, header included,
// are never wider than the terminal (80 when unknown), whatever the
// delivery holds; a wider terminal shows more of a long entity; the notes
// are on the line when they fit, else under it.
func TestDeliveryFitsTheTerminal(t *testing.T) {
	id := int64(123456789)
	at := time.Date(2026, 12, 7, 23, 1, 2, 0, time.UTC)
	deliveries := []verify.Delivery{
		{Time: at, IEvent: &id, Type: "Subscriber/Created", Entity: "i_account=1822465", Auth: verify.AuthOK, Status: 200, HandlingMS: 0.5},
		{Time: at, IEvent: &id, Type: "Customer/Status_Blocked_By_Credit_Limit", Entity: "i_customer=1000003 i_account=1822465 i_did=99", Auth: verify.AuthOK, Status: 200, Duplicate: true, HandlingMS: 12345.67},
		{Time: at, Auth: verify.AuthFailed, Status: 401, Reason: `mismatch: wrong password for user "u", and a reason long enough to need two lines at eighty columns`, HandlingMS: 0.04},
		{Time: at, IEvent: &id, Type: "Subscriber/Updated", Entity: "帳戶=一二三四五六七八九十一二三四五", Auth: verify.AuthOK, Status: 503, Fault: "status=503", HandlingMS: 1},
	}
	for _, width := range []int{0, 80, 100, 160} {
		limit := width
		if limit == 0 {
			limit = 80
		}
		var out bytes.Buffer
		out.WriteString(report.DeliveryHeader(width, term.Palette{}) + "\n")
		for _, d := range deliveries {
			if err := report.DeliveryFit(&out, d, term.Palette{}, width); err != nil {
				t.Fatal(err)
			}
		}
		for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			if term.Width(l) > limit {
				t.Errorf("width %d: line of %d columns:\n%s", width, term.Width(l), l)
			}
		}
		if !strings.HasPrefix(out.String(), "time UTC") {
			t.Errorf("width %d: no header line:\n%s", width, out.String())
		}
		lines := strings.Split(out.String(), "\n")
		if !strings.Contains(lines[2], "12345.67") || !strings.Contains(lines[2], "dup") {
			t.Errorf("width %d: the duplicate's line lost its time or mark: %q", width, lines[2])
		}
		if !strings.Contains(out.String(), "the ESPF drops the event") || !strings.Contains(out.String(), "the ESPF re-sends it") {
			t.Errorf("width %d: the notes are missing:\n%s", width, out.String())
		}
		full := strings.Contains(out.String(), "i_customer=1000003 i_account=1822465 i_did=99")
		if full != (width >= 160) {
			t.Errorf("width %d: whole long entity shown = %t, want %t:\n%s", width, full, width >= 160, out.String())
		}
	}
}
