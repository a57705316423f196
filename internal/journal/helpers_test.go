package journal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
)

func ptr[T any](v T) *T { return &v }

// delivery is a delivery answered 200 of i_event id, as the receiver
// hands it to Commit.
func delivery(at time.Time, id int64, typ string) journal.Record {
	vars := fmt.Sprintf(`{"i_event":%d}`, id)
	return journal.Record{Time: at, IEvent: ptr(id), Type: typ, Variables: json.RawMessage(vars), AuthScheme: "basic", Auth: "ok", Status: 200}
}

// list reads every record q selects with Each.
func list(t *testing.T, j *journal.Journal, q journal.Query) []journal.Record {
	t.Helper()
	var out []journal.Record
	if err := j.Each(context.Background(), q, func(r *journal.Record) error { out = append(out, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// events lists the events (their first deliveries, whole) in
// first-delivery order, as journal --json does.
func events(t *testing.T, j *journal.Journal, q journal.Query) []journal.Record {
	t.Helper()
	q.Kinds, q.Oldest, q.Capture = []journal.Kind{journal.First}, true, true
	return list(t, j, q)
}

func keys(recs []journal.Record) []string {
	out := make([]string, len(recs))
	for i := range recs {
		out[i] = recs[i].Key()
	}
	return out
}

// newestFirst sorts records as the listing does: by time, kind, then id,
// newest first.
func newestFirst(recs []journal.Record) []journal.Record {
	out := slices.Clone(recs)
	slices.SortFunc(out, func(a, b journal.Record) int {
		ca, cb := a.Cursor(), b.Cursor()
		switch {
		case ca == cb:
			return 0
		case ca.At != cb.At:
			return -cmpInt(ca.At, cb.At)
		case ca.Rank != cb.Rank:
			return -cmpInt(int64(ca.Rank), int64(cb.Rank))
		}
		return -cmpInt(ca.ID, cb.ID)
	})
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
