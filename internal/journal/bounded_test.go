package journal_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/testutil"
)

// TestCopiesPrunedInChunks: with MaxCopies 100, 1,000 deliveries of one
// i_event, each its own commit, keep the newest duplicates and count the
// others: the oldest are deleted back down to 100 each time they reach
// 164 (CopySlack(100) = 64), so 14 prunes drop 896 and keep 103. The
// event counts all 1,000, the replay is never deleted, the count survives
// a reopen, and a reopen with a smaller bound cuts at once.
func TestCopiesPrunedInChunks(t *testing.T) {
	if journal.CopySlack(100) != 64 || journal.CopySlack(10000) != 625 {
		t.Fatalf("CopySlack(100) = %d, CopySlack(10000) = %d; want 64 and 625", journal.CopySlack(100), journal.CopySlack(10000))
	}
	path := filepath.Join(t.TempDir(), "j.db")
	open := func(n int) *journal.Journal {
		t.Helper()
		j, err := journal.Open(journal.Config{Path: path, MaxCopies: n, Scratch: true})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	deliver := func(j *journal.Journal, from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			if _, err := j.Commit(delivery(t0.Add(time.Duration(i)*time.Millisecond), 7615, "Subscriber/Created")); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(j *journal.Journal, deliveries, kept, dropped int64) {
		t.Helper()
		dups := list(t, j, journal.Query{Kinds: []journal.Kind{journal.Duplicate}})
		if int64(len(dups)) != kept || len(list(t, j, journal.Query{Kinds: []journal.Kind{journal.Replay}})) != 1 {
			t.Fatalf("%d duplicates kept, want %d and the replay", len(dups), kept)
		}
		for i, r := range dups {
			if want := deliveries - int64(i); r.Deliveries != want {
				t.Fatalf("copy %d is the delivery number %d, want %d: the newest are kept, in order", i, r.Deliveries, want)
			}
		}
		if n, err := j.CopiesDropped(t.Context()); err != nil || n != dropped {
			t.Errorf("copies dropped: %d (%v), want %d", n, err, dropped)
		}
		if ev, err := j.Get(t.Context(), journal.First, 7615); err != nil || ev.Deliveries != deliveries {
			t.Errorf("the event: %+v (%v); want its %d deliveries counted, kept or not", ev, err, deliveries)
		}
	}
	j := open(100)
	deliver(j, 0, 1)
	if _, err := j.CommitReplay(journal.Record{Time: t0, IEvent: ptr(int64(7615)), Status: 200, Source: "first/7615"}); err != nil {
		t.Fatal(err)
	}
	deliver(j, 1, 999)
	check(j, 1000, 103, 896)
	if c, _ := j.Counts(t.Context()); c.Duplicates != 999 || c.Replays != 1 || c.ByAnswer[200] != 1000 {
		t.Errorf("counts %+v: want 999 duplicates answered 200 and the replay", c)
	}
	if st := j.Stats(); st.CopiesDropped != 896 {
		t.Errorf("Stats: %+v, want 896 copies dropped", st)
	}
	j.Close()
	j = open(100)
	check(j, 1000, 103, 896)
	deliver(j, 1000, 61) // 163 held, then 164: back to 100
	check(j, 1061, 100, 960)
	j.Close()
	j = open(10)
	defer j.Close()
	check(j, 1061, 10, 1050)
	if st := j.Stats(); st.CopiesDropped != 90 {
		t.Errorf("Stats after the cut at open: %+v, want 90 copies dropped", st)
	}
}

// TestRejectionsPruned: past MaxRejected the oldest rejections are
// deleted at once and counted, over the journal's life, and Counts stays
// exact by answer.
func TestRejectionsPruned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := journal.Open(journal.Config{Path: path, MaxRejected: 10})
	if err != nil {
		t.Fatal(err)
	}
	sub := j.Subscribe(64)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 25 {
		status := 401
		if i >= 20 {
			status = 400
		}
		j.Log(journal.Record{Time: t0.Add(time.Duration(i) * time.Second), AuthScheme: "basic", Auth: "failed", Status: status,
			Reason: fmt.Sprintf("r%d", i)})
	}
	testutil.AwaitRecords(t, sub, 25)
	sub.Close()
	rej := list(t, j, journal.Query{Kinds: []journal.Kind{journal.Rejected}, Oldest: true, ByID: true})
	if len(rej) != 10 || rej[0].Reason != "r15" || rej[9].Reason != "r24" {
		t.Fatalf("%d rejections kept, from %q; want the newest 10, r15 to r24", len(rej), rej[0].Reason)
	}
	if c, _ := j.Counts(t.Context()); c.Rejected != 10 || c.ByAnswer[401] != 5 || c.ByAnswer[400] != 5 {
		t.Errorf("counts %+v: want the 10 kept, 5 answered 401 and 5 answered 400", c)
	}
	if n, err := j.RejectionsDropped(t.Context()); err != nil || n != 15 || j.Stats().RejectionsDropped != 15 {
		t.Errorf("rejections dropped: %d (%v), stats %+v; want 15", n, err, j.Stats())
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := journal.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if c, _ := ro.Counts(t.Context()); c.Rejected != 10 || c.ByAnswer[401] != 5 {
		t.Errorf("read-only counts %+v", c)
	}
	if n, _ := ro.RejectionsDropped(t.Context()); n != 15 {
		t.Errorf("read-only: %d dropped, want 15", n)
	}
}
