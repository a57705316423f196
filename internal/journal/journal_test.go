package journal_test

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/testutil"
)

// BenchmarkJournalCommit commits deliveries of new events from 32
// goroutines, as concurrent requests do, so the writer groups them.
//
//	go test -run '^$' -bench BenchmarkJournalCommit ./internal/journal
func BenchmarkJournalCommit(b *testing.B) {
	for _, name := range []string{"memory", "file"} {
		b.Run(name, func(b *testing.B) {
			path := ""
			if name == "file" {
				path = filepath.Join(b.TempDir(), "j.db")
			}
			j, err := journal.Open(journal.Config{Path: path})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			var seq, failed atomic.Int64
			jobs, wait := testutil.Workers(32, func() {
				id := seq.Add(1)
				if _, err := j.Commit(journal.Record{Time: time.Now(), IEvent: &id, Type: "Account/Created",
					Variables:  json.RawMessage(`{"i_account":1,"i_event":` + strconv.FormatInt(id, 10) + `}`),
					AuthScheme: "signature", Auth: "ok", Status: 200}); err != nil {
					failed.Add(1)
				}
			})
			b.ReportAllocs()
			for b.Loop() {
				jobs <- struct{}{}
			}
			wait()
			if failed.Load() > 0 {
				b.Fatalf("%d commits failed", failed.Load())
			}
			st := j.Stats()
			b.ReportMetric(float64(st.Rows)/float64(st.Commits), "rows/commit")
		})
	}
}

// TestJournalReopen: a file journal keeps its events across Close and
// Open, and a repeat after reopening is not a first delivery.
func TestJournalReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	r := delivery(time.Now(), 5, "Account/Created")
	for i, wantFirst := range []bool{true, false} {
		j, err := journal.Open(journal.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		out, err := j.Commit(r)
		if err != nil || out.First != wantFirst || out.Deliveries != int64(i+1) {
			t.Errorf("open #%d: Commit = %+v, %v; want first=%t, deliveries %d", i+1, out, err, wantFirst, i+1)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	ro, err := journal.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	evs := events(t, ro, journal.Query{Type: "Account/Created", Since: time.Now().Add(-time.Hour)})
	if len(evs) != 1 || evs[0].Deliveries != 2 {
		t.Errorf("events = %+v; want one event delivered twice", evs)
	}
	if evs := events(t, ro, journal.Query{Type: "Other/Type"}); len(evs) != 0 {
		t.Errorf("type filter: %+v, want nothing", evs)
	}
	if _, err := ro.Commit(r); err == nil {
		t.Errorf("Commit on a read-only journal succeeded")
	}
	if _, err := journal.OpenReadOnly(filepath.Join(t.TempDir(), "none.db")); err == nil {
		t.Errorf("a file that does not exist opened read-only")
	}
}

// TestCommitWithoutIEvent: a delivery answered 200 carries an i_event;
// one without is refused, never written.
func TestCommitWithoutIEvent(t *testing.T) {
	j, err := journal.Open(journal.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := j.Commit(journal.Record{Time: time.Now(), Status: 200}); err == nil {
		t.Error("Commit without an i_event succeeded")
	}
	if st := j.Stats(); st.Rows != 0 {
		t.Errorf("stats %+v, want nothing written", st)
	}
}

// TestScratchJournal: a scratch journal (run's built-in receiver) decides
// first deliveries by the database like any journal and lists every
// i_event once, in order, across pages; it keeps no raw capture.
func TestScratchJournal(t *testing.T) {
	j, err := journal.Open(journal.Config{Path: filepath.Join(t.TempDir(), "j.db"), Scratch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if !j.Scratch() {
		t.Fatal("Scratch() = false for a scratch journal")
	}
	r := delivery(time.Now(), 7, "Account/Created")
	r.Body = []byte(`{"event_type":"Account/Created","variables":{"i_event":7}}`)
	r.Headers = journal.Headers{"Date": {"Mon, 23 Nov 2026 10:00:00 GMT"}}
	for i, wantFirst := range []bool{true, false} {
		out, err := j.Commit(r)
		if err != nil || out.First != wantFirst || out.Deliveries != int64(i+1) {
			t.Fatalf("delivery #%d: Commit = %+v, %v; want first=%t, deliveries %d", i+1, out, err, wantFirst, i+1)
		}
	}
	evs := events(t, j, journal.Query{})
	if len(evs) != 1 || evs[0].Deliveries != 2 || evs[0].Body != nil || evs[0].Headers != nil {
		t.Fatalf("events = %+v; want i_event 7 delivered twice, without body or headers", evs)
	}
	// The repeat's copy is kept without its raw capture, and bounded as
	// serve's are by default.
	page, err := j.Page(t.Context(), journal.Query{Kinds: []journal.Kind{journal.Duplicate}})
	if err != nil || len(page.Records) != 1 {
		t.Fatalf("duplicates: %+v, %v; want the repeat's copy", page.Records, err)
	}
	if d, err := j.Get(t.Context(), journal.Duplicate, page.Records[0].ID); err != nil || d.Body != nil || d.Headers != nil {
		t.Errorf("the copy: %+v, %v; want no body or headers", d, err)
	}
	if j.MaxCopies() != journal.DefaultMaxCopies {
		t.Errorf("a scratch journal keeps %d copies, want serve's default %d", j.MaxCopies(), journal.DefaultMaxCopies)
	}

	// More i_events than one page of EachIEvent, committed out of order.
	const n = 5000
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for id := int64(n - w); id > 7; id -= 8 {
				if _, err := j.Commit(journal.Record{Time: time.Now(), IEvent: ptr(id), Type: "Account/Created",
					Variables: json.RawMessage(`{}`), AuthScheme: "basic", Status: 200}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var got []int64
	if err := j.EachIEvent(t.Context(), func(id int64) error { got = append(got, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != n-7+1 {
		t.Fatalf("EachIEvent gave %d i_events, want %d", len(got), n-7+1)
	}
	for i, id := range got {
		if id != int64(i+7) {
			t.Fatalf("EachIEvent: i_event #%d is %d, want %d (ascending, each once)", i, id, i+7)
		}
	}
	for id, want := range map[int64]bool{7: true, 5000: true, 6: false, 5001: false} {
		if has, err := j.Has(t.Context(), id); err != nil || has != want {
			t.Errorf("Has(%d) = %t, %v; want %t", id, has, err, want)
		}
	}
}
