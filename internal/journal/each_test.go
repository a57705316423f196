package journal_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/testutil"
)

// TestEachCopies: Each walks the copies (duplicates and replays, not
// first deliveries or rejections) newest first across pages, exactly once
// each, stops at its limit, and keeps to Since and Type.
func TestEachCopies(t *testing.T) {
	j, err := journal.Open(journal.Config{Path: filepath.Join(t.TempDir(), "espf.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const n = journal.MaxLimit*2 + 7 // several pages
	for i := range n + 1 {           // a first delivery and n duplicates
		r := delivery(t0.Add(time.Duration(i)*time.Millisecond), 5, "Subscriber/Created")
		r.Body = []byte(`{"event_type":"Subscriber/Created","variables":{"i_event":5,"i_account":1005}}`)
		if _, err := j.Commit(r); err != nil {
			t.Fatal(err)
		}
	}
	sub := j.Subscribe(16)
	defer sub.Close()
	j.Log(journal.Record{Time: t0.Add(time.Hour), AuthScheme: "basic", Auth: "failed", Status: 401, Reason: "mismatch"})
	// The rejection is journaled after its answer: wait for its commit.
	testutil.AwaitRecords(t, sub, 1)
	if _, err := j.CommitReplay(journal.Record{Time: t0.Add(2 * time.Hour), IEvent: ptr(int64(5)), Type: "Subscriber/Updated",
		Status: 200, Forwarded: true, ForwardStatus: ptr(200), Source: "first/5", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	copies := journal.Query{Kinds: []journal.Kind{journal.Duplicate, journal.Replay}}
	all := list(t, j, copies)
	if len(all) != n+1 || all[0].Kind != journal.Replay || all[0].Source != "first/5" {
		t.Fatalf("%d copies, the first %+v; want the replay and %d duplicates", len(all), all[0], n)
	}
	for i, r := range all[1:] {
		if want := int64(n + 1 - i); r.Kind != journal.Duplicate || r.Deliveries != want {
			t.Fatalf("copy %d: %s with count %d, want the duplicate with count %d (newest first, each once)", i+1, r.Key(), r.Deliveries, want)
		}
	}
	limited := copies
	limited.Limit = journal.MaxLimit + 3
	if got := list(t, j, limited); len(got) != journal.MaxLimit+3 || got[len(got)-1].Key() != all[journal.MaxLimit+2].Key() {
		t.Errorf("limit %d: %d records", journal.MaxLimit+3, len(got))
	}
	since := copies
	since.Since = t0.Add(time.Duration(n-2) * time.Millisecond) // the last three duplicates and the replay
	if got := keys(list(t, j, since)); len(got) != 4 || got[0] != all[0].Key() || got[3] != all[3].Key() {
		t.Errorf("since: %v", got)
	}
	typed := copies
	typed.Type = "Subscriber/Updated"
	if got := keys(list(t, j, typed)); len(got) != 1 || got[0] != all[0].Key() {
		t.Errorf("type: %v, want the replay only", got)
	}
	// Bounds: the records between two cursors, each way.
	between := copies
	between.Before, between.After = ptr(all[2].Cursor()), ptr(all[6].Cursor())
	if got := keys(list(t, j, between)); !slices.Equal(got, keys(all[3:6])) {
		t.Errorf("between: %v, want %v", got, keys(all[3:6]))
	}
	between.Oldest = true
	rev := slices.Clone(all[3:6])
	slices.Reverse(rev)
	if got := keys(list(t, j, between)); !slices.Equal(got, keys(rev)) {
		t.Errorf("between, oldest first: %v, want %v", got, keys(rev))
	}
}

// TestTail: the rejections list oldest first; with a tail, the newest N,
// still oldest first (journal --rejected --limit N); with since, only
// those at or after it; newest first, the tail is the oldest N.
func TestTail(t *testing.T) {
	j, err := journal.Open(journal.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	sub := j.Subscribe(16)
	defer sub.Close()
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for i := range 5 {
		j.Log(journal.Record{Time: t0.Add(time.Duration(i) * time.Second), AuthScheme: "basic", Auth: "failed", Status: 401, Reason: fmt.Sprintf("r%d", i)})
	}
	testutil.AwaitRecords(t, sub, 5)
	reasons := func(q journal.Query) string {
		t.Helper()
		q.Kinds, q.Capture = []journal.Kind{journal.Rejected}, true
		var out []string
		for _, r := range list(t, j, q) {
			out = append(out, r.Reason)
		}
		return fmt.Sprint(out)
	}
	for _, tt := range []struct {
		q    journal.Query
		want string
	}{
		{journal.Query{Oldest: true}, "[r0 r1 r2 r3 r4]"},
		{journal.Query{Oldest: true, Tail: 2}, "[r3 r4]"},
		{journal.Query{Oldest: true, Tail: 9}, "[r0 r1 r2 r3 r4]"},
		{journal.Query{Oldest: true, Since: t0.Add(2 * time.Second)}, "[r2 r3 r4]"},
		{journal.Query{Oldest: true, Since: t0.Add(2 * time.Second), Tail: 1}, "[r4]"},
		{journal.Query{Oldest: true, Tail: 3, Limit: 2}, "[r2 r3]"},
		{journal.Query{Tail: 2}, "[r1 r0]"},
	} {
		if got := reasons(tt.q); got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.q, got, tt.want)
		}
	}
}

// TestByID: rejections listed by id are in the order the journal wrote
// them, whatever their times (two answered at once are written in either
// order); by time they are in time order. Both page, bound and tail.
func TestByID(t *testing.T) {
	j, err := journal.Open(journal.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	sub := j.Subscribe(16)
	defer sub.Close()
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for i, sec := range []int{3, 1, 4, 1, 5} { // written in this order, received at these times
		j.Log(journal.Record{Time: t0.Add(time.Duration(sec) * time.Second), AuthScheme: "basic", Auth: "failed", Status: 401, Reason: fmt.Sprintf("r%d", i)})
	}
	testutil.AwaitRecords(t, sub, 5)
	reasons := func(q journal.Query) string {
		t.Helper()
		q.Kinds = []journal.Kind{journal.Rejected}
		var out []string
		for _, r := range list(t, j, q) {
			out = append(out, r.Reason)
		}
		return fmt.Sprint(out)
	}
	for _, tt := range []struct {
		q    journal.Query
		want string
	}{
		{journal.Query{Oldest: true, ByID: true}, "[r0 r1 r2 r3 r4]"},
		{journal.Query{ByID: true}, "[r4 r3 r2 r1 r0]"},
		{journal.Query{Oldest: true}, "[r1 r3 r0 r2 r4]"},
		{journal.Query{Oldest: true, ByID: true, Tail: 2}, "[r3 r4]"},
		{journal.Query{Oldest: true, ByID: true, Since: t0.Add(3 * time.Second)}, "[r0 r2 r4]"},
		{journal.Query{Oldest: true, ByID: true, Since: t0.Add(3 * time.Second), Tail: 2}, "[r2 r4]"},
		{journal.Query{Oldest: true, ByID: true, After: &journal.Cursor{At: 2, ID: 2}}, "[r2 r3 r4]"},
	} {
		if got := reasons(tt.q); got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.q, got, tt.want)
		}
	}
	q := journal.Query{Kinds: []journal.Kind{journal.Rejected}, ByID: true, Limit: 2}
	if got := walk(t, j, q); fmt.Sprint(got) != "[rejected/5 rejected/4 rejected/3 rejected/2 rejected/1]" {
		t.Errorf("paged by id: %v", got)
	}
}
