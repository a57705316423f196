package testutil

import (
	"testing"

	"github.com/espfctl/espfctl/internal/journal"
)

// AwaitRecords reads sub until want records are committed, and returns
// them. It waits as long as it takes: only the test's own -timeout bounds
// it, so a loaded machine never changes its verdict.
func AwaitRecords(t *testing.T, sub *journal.Subscription, want int) []journal.Record {
	t.Helper()
	var recs []journal.Record
	for len(recs) < want {
		b, ok := <-sub.C
		if !ok {
			t.Fatalf("subscription closed after %d of %d records (dropped: %v)", len(recs), want, sub.Dropped())
		}
		recs = append(recs, b...)
	}
	return recs
}
