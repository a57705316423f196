package verify_test

import (
	"encoding/json"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/verify"
)

// BenchmarkJournalRecord commits deliveries of new events from 32
// goroutines, as concurrent requests do, so the writer groups them.
//
//	go test -run '^$' -bench BenchmarkJournalRecord ./internal/verify
func BenchmarkJournalRecord(b *testing.B) {
	for _, name := range []string{"memory", "file"} {
		b.Run(name, func(b *testing.B) {
			path := ""
			if name == "file" {
				path = filepath.Join(b.TempDir(), "j.db")
			}
			j, err := verify.OpenJournal(path)
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			var seq, failed atomic.Int64
			jobs, wait := workers(32, func() {
				id := seq.Add(1)
				if _, err := j.Record(verify.Entry{At: time.Now(), IEvent: id, HasEvent: true, Type: "Account/Created",
					Variables: json.RawMessage(`{"i_account":1,"i_event":` + itoa(id) + `}`), AuthScheme: "signature", Auth: verify.AuthOK, Status: 200}); err != nil {
					failed.Add(1)
				}
			})
			b.ReportAllocs()
			for b.Loop() {
				jobs <- struct{}{}
			}
			wait()
			if failed.Load() > 0 {
				b.Fatalf("%d records failed", failed.Load())
			}
			st := j.Stats()
			b.ReportMetric(float64(st.Rows)/float64(st.Commits), "rows/commit")
		})
	}
}

// TestJournalReopen: a file journal keeps its events across Close and
// OpenJournal, and a repeat after reopening is not a first delivery.
func TestJournalReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	e := verify.Entry{At: time.Now(), IEvent: 5, HasEvent: true, Type: "Account/Created", Variables: json.RawMessage(`{"i_event":5}`), AuthScheme: "basic", Status: 200}
	for i, wantFirst := range []bool{true, false} {
		j, err := verify.OpenJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		out, err := j.Record(e)
		if err != nil || out.First != wantFirst || out.Deliveries != int64(i+1) {
			t.Errorf("open #%d: Record = %+v, %v; want first=%t, deliveries %d", i+1, out, err, wantFirst, i+1)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	ro, err := verify.OpenJournalReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	evs, err := ro.Events(t.Context(), verify.Filter{Type: "Account/Created", Since: time.Now().Add(-time.Hour)})
	if err != nil || len(evs) != 1 || evs[0].Deliveries != 2 {
		t.Errorf("Events = %+v, %v; want one event delivered twice", evs, err)
	}
	if evs, _ := ro.Events(t.Context(), verify.Filter{Type: "Other/Type"}); len(evs) != 0 {
		t.Errorf("type filter: %+v, want nothing", evs)
	}
	if _, err := ro.Record(e); err == nil {
		t.Errorf("Record on a read-only journal succeeded")
	}
}

// workers starts n goroutines that call f once per value sent on jobs;
// wait closes jobs and waits for them.
func workers(n int, f func()) (jobs chan<- struct{}, wait func()) {
	ch := make(chan struct{}, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for range ch {
				f()
			}
		})
	}
	return ch, func() { close(ch); wg.Wait() }
}

// TestScratchJournal: a scratch journal (run's built-in receiver) decides
// first deliveries by the database like any journal and lists every
// i_event once, in order, across pages; it keeps no raw capture.
func TestScratchJournal(t *testing.T) {
	j, err := verify.OpenJournalWith(filepath.Join(t.TempDir(), "j.db"), verify.JournalOptions{Scratch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	e := verify.Entry{At: time.Now(), IEvent: 7, HasEvent: true, Type: "Account/Created", Variables: json.RawMessage(`{"i_event":7}`),
		AuthScheme: "basic", Status: 200, Body: []byte(`{"event_type":"Account/Created","variables":{"i_event":7}}`),
		Headers: verify.Headers{"Date": {"Mon, 23 Nov 2026 10:00:00 GMT"}}}
	for i, wantFirst := range []bool{true, false} {
		out, err := j.Record(e)
		if err != nil || out.First != wantFirst || out.Deliveries != int64(i+1) {
			t.Fatalf("delivery #%d: Record = %+v, %v; want first=%t, deliveries %d", i+1, out, err, wantFirst, i+1)
		}
	}
	evs, err := j.Events(t.Context(), verify.Filter{})
	if err != nil || len(evs) != 1 || evs[0].Deliveries != 2 || evs[0].Body != nil || evs[0].Headers != nil {
		t.Fatalf("Events = %+v, %v; want i_event 7 delivered twice, without body or headers", evs, err)
	}
	// The repeat's copy is kept without its raw capture, and bounded as
	// serve's are by default.
	page, err := j.Rows(t.Context(), verify.RowFilter{Kind: verify.RowDuplicate})
	if err != nil || len(page.Rows) != 1 {
		t.Fatalf("duplicates: %+v, %v; want the repeat's copy", page.Rows, err)
	}
	if d, err := j.RowDetail(t.Context(), verify.RowDuplicate, page.Rows[0].ID); err != nil || d.Body != nil || d.Headers != nil {
		t.Errorf("the copy: %+v, %v; want no body or headers", d, err)
	}
	if j.MaxCopies() != verify.DefaultMaxCopies {
		t.Errorf("a scratch journal keeps %d copies, want serve's default %d", j.MaxCopies(), verify.DefaultMaxCopies)
	}

	// More i_events than one page of EachIEvent, recorded out of order.
	const n = 5000
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for id := int64(n - w); id > 7; id -= 8 {
				if _, err := j.Record(verify.Entry{At: time.Now(), IEvent: id, HasEvent: true, Type: "Account/Created",
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
}
