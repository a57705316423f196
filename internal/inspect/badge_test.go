package inspect

import (
	"testing"

	"github.com/espfctl/espfctl/internal/journal"
)

// TestRejectedBadgeFollowsTheESPF: a rejected delivery's badge says what
// the ESPF does with the answer, not "rejected": a 500 is re-sent, a 4xx
// dropped; serve's own refusals are marked as such, the Application's
// answers passed on (--forward-to) are not.
func TestRejectedBadgeFollowsTheESPF(t *testing.T) {
	app500 := 500
	for _, tc := range []struct {
		name      string
		r         journal.Record
		badge, cl string
	}{
		{"a fault's 500", journal.Record{Kind: journal.Rejected, Status: 500, Reason: "fault: fail_rate"}, "re-sent · by serve", clsWarn},
		{"a wrong password", journal.Record{Kind: journal.Rejected, Status: 401, Auth: "failed"}, "dropped · by serve", clsBad},
		{"a hang: no answer", journal.Record{Kind: journal.Rejected, Status: 0}, "re-sent · by serve", clsWarn},
		{"the Application's 500", journal.Record{Kind: journal.Rejected, Status: 500, Forwarded: true, ForwardStatus: &app500}, "re-sent", clsWarn},
	} {
		v := newRowView(&tc.r)
		if v.Badge != tc.badge || v.BadgeCls != tc.cl {
			t.Errorf("%s: badge %q (%s), want %q (%s)", tc.name, v.Badge, v.BadgeCls, tc.badge, tc.cl)
		}
	}
}
