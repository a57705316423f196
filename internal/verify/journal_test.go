package verify_test

import (
	"testing"

	"github.com/espfctl/espfctl/internal/journal"
)

// list reads what q selects from the receiver's journal.
func list(t *testing.T, j *journal.Journal, q journal.Query) []journal.Record {
	t.Helper()
	var out []journal.Record
	if err := j.Each(t.Context(), q, func(r *journal.Record) error { out = append(out, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// events are the journal's events (first deliveries, whole), in
// first-delivery order: what journal --json lists.
func events(t *testing.T, j *journal.Journal) []journal.Record {
	t.Helper()
	return list(t, j, journal.Query{Kinds: []journal.Kind{journal.First}, Oldest: true, Capture: true})
}

// rejections are the journal's rejections, whole, oldest first: what
// journal --rejected --json lists.
func rejections(t *testing.T, j *journal.Journal) []journal.Record {
	t.Helper()
	return list(t, j, journal.Query{Kinds: []journal.Kind{journal.Rejected}, Oldest: true, ByID: true, Capture: true})
}
