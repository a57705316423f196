package journal_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/testutil"
)

// fill writes a known mix of records into j and waits until every one is
// committed: first deliveries of two types, duplicates, rejections (401
// without an event, 400 and 500 with one), a replay, and records that
// share their time with another kind (the listing orders them by kind).
func fill(t *testing.T, j *journal.Journal) []journal.Record {
	t.Helper()
	sub := j.Subscribe(1000)
	defer sub.Close()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	event := func(id int64, typ string, ms int) journal.Record {
		vars := fmt.Sprintf(`{"i_event":%d,"i_account":%d}`, id, 1000+id)
		return journal.Record{Time: at(ms), IEvent: ptr(id), Type: typ, Variables: json.RawMessage(vars), AuthScheme: "basic",
			Auth: "ok", Status: 200, Entity: fmt.Sprintf("i_account=%d", 1000+id),
			Body:    []byte(`{"event_type":"` + typ + `","variables":` + vars + `}`),
			Headers: journal.Headers{"Authorization": {"Basic [redacted]"}, "Content-Type": {"application/json"}}}
	}
	want := 0
	commit := func(r journal.Record) {
		t.Helper()
		if _, err := j.Commit(r); err != nil {
			t.Fatal(err)
		}
		want++
	}
	reject := func(r journal.Record) { j.Log(r); want++ }
	for i := range int64(8) {
		typ := "Subscriber/Created"
		if i%3 == 2 {
			typ = "Subscriber/Updated"
		}
		commit(event(10+i, typ, int(i)*10))
	}
	commit(event(11, "Subscriber/Created", 100)) // duplicate
	commit(event(11, "Subscriber/Created", 110)) // duplicate
	reject(journal.Record{Time: at(20), AuthScheme: "basic", Auth: "failed", Status: 401, Reason: "mismatch: wrong password"})
	bad := event(30, "Subscriber/Created", 120)
	bad.Status, bad.Reason, bad.Forwarded, bad.ForwardStatus, bad.ForwardMS = 500, "the Application answered 500", true, ptr(500), ptr(1.5)
	reject(bad)
	four := event(31, "Account/Blocked", 130)
	four.Status, four.Reason = 400, "missing variables"
	reject(four)
	if _, err := j.CommitReplay(journal.Record{Time: at(140), IEvent: ptr(int64(12)), Type: "Subscriber/Updated",
		Entity: "i_account=1012", Status: 200, Forwarded: true, ForwardStatus: ptr(200), ForwardMS: ptr(2.0), Source: "first/12",
		Body: []byte(`{"x":1}`)}); err != nil {
		t.Fatal(err)
	}
	want++
	return testutil.AwaitRecords(t, sub, want)
}

// walk reads every page of q, older and older, then back newer and newer
// from the last page; both ways must give the same records.
func walk(t *testing.T, j *journal.Journal, q journal.Query) []string {
	t.Helper()
	ctx := context.Background()
	var down [][]string
	var last journal.Page
	for {
		p, err := j.Page(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Records) > q.Limit {
			t.Fatalf("page of %d records, limit %d", len(p.Records), q.Limit)
		}
		down = append(down, keys(p.Records))
		last = p
		if p.Older == nil {
			break
		}
		q.Before, q.After = p.Older, nil
		if len(down) > 100 {
			t.Fatal("paging does not end")
		}
	}
	var all []string
	for _, pg := range down {
		all = append(all, pg...)
	}
	// Back up from the last page.
	var up [][]string
	for p := last; p.Newer != nil; {
		q.Before, q.After = nil, p.Newer
		var err error
		if p, err = j.Page(ctx, q); err != nil {
			t.Fatal(err)
		}
		up = append(up, keys(p.Records))
	}
	var back []string
	for i := len(up) - 1; i >= 0; i-- {
		back = append(back, up[i]...)
	}
	back = append(back, down[len(down)-1]...)
	if !slices.Equal(back, all) {
		t.Errorf("paging newer gives %v, older gave %v", back, all)
	}
	return all
}

// TestListing: the journal listed as deliveries, newest first, paged both
// ways with any page size, filtered by type, kind, consequence, search and
// i_event exactly as Query.Match filters a live record, walked oldest
// first by Each, counted, and read back whole — the same after the
// journal is reopened.
func TestListing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := journal.Open(journal.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	live := fill(t, j)
	want := newestFirst(live)
	if n := len(want); n != 14 {
		t.Fatalf("%d records committed, want 14", n)
	}
	check := func(j *journal.Journal) {
		t.Helper()
		for _, q := range []journal.Query{{}, {Type: "Subscriber/Created"}, {Kinds: []journal.Kind{journal.Rejected}},
			{Kinds: []journal.Kind{journal.Duplicate}}, {Kinds: []journal.Kind{journal.Replay}},
			{Kinds: []journal.Kind{journal.Duplicate, journal.Replay}}, {Class: espf.Dropped}, {Class: espf.Resent},
			{Class: espf.Delivered}, {Search: "11"}, {Search: "1012"}, {Search: "i_account=1030"}, {Search: "nothing"},
			{Type: "Subscriber/Created", Class: espf.Resent}, {Type: "Subscriber/Created", Search: "11"},
			{Type: "Subscriber/Updated", Search: "1012"}, {Since: want[5].Time, Search: "11"}, {IEvent: ptr(int64(11))},
			{IEvent: ptr(int64(30)), Kinds: []journal.Kind{journal.Rejected}}} {
			var sel []journal.Record
			for i := range want {
				if q.Match(&want[i]) {
					sel = append(sel, want[i])
				}
			}
			for _, limit := range []int{1, 3, 50} {
				q.Limit = limit
				if got := walk(t, j, q); !slices.Equal(got, keys(sel)) {
					t.Errorf("query %+v limit %d: records %v, want %v", q, limit, got, keys(sel))
				}
			}
			q.Limit, q.Oldest = 0, true
			oldest := slices.Clone(keys(sel))
			slices.Reverse(oldest)
			if got := keys(list(t, j, q)); !slices.Equal(got, oldest) {
				t.Errorf("query %+v oldest first: %v, want %v", q, got, oldest)
			}
		}
		c, err := j.Counts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c.Events != 8 || c.Duplicates != 2 || c.Rejected != 3 || c.Replays != 1 ||
			c.ByType["Subscriber/Created"] != 6 || c.ByType["Subscriber/Updated"] != 2 ||
			c.ByAnswer[200] != 10 || c.ByAnswer[401] != 1 || c.ByAnswer[500] != 1 || c.ByAnswer[400] != 1 {
			t.Errorf("counts %+v", c)
		}
		att, err := j.Attempts(context.Background(), 11)
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(att); len(got) != 3 || got[0] != "first/11" || att[2].Deliveries != 3 {
			t.Errorf("attempts of 11: %v", got)
		}
		replay := slices.IndexFunc(want, func(r journal.Record) bool { return r.Kind == journal.Replay })
		for _, key := range []struct {
			kind journal.Kind
			id   int64
		}{{journal.First, 11}, {journal.Duplicate, att[1].ID}, {journal.Rejected, 2}, {journal.Replay, want[replay].ID}} {
			d, err := j.Get(context.Background(), key.kind, key.id)
			if err != nil {
				t.Fatalf("%s/%d: %v", key.kind, key.id, err)
			}
			switch key.kind {
			case journal.First, journal.Duplicate:
				if !d.Complete() || d.BodyJSON() == nil || d.Headers["Authorization"][0] != "Basic [redacted]" || d.Type != "Subscriber/Created" {
					t.Errorf("%s: %+v", key.kind, d)
				}
				if key.kind == journal.First && (d.Deliveries != 3 || string(d.Variables) != `{"i_event":11,"i_account":1011}` ||
					!d.LastDelivery.Equal(d.Time.Add(100*time.Millisecond))) {
					t.Errorf("first: %+v", d)
				}
			case journal.Rejected:
				if d.Status != 500 || d.ForwardStatus == nil || *d.ForwardStatus != 500 || d.Entity != "i_account=1030" {
					t.Errorf("rejected: %+v", d)
				}
			case journal.Replay:
				if string(d.Body) != `{"x":1}` || d.Source != "first/12" || !d.Forwarded {
					t.Errorf("replay: %+v", d)
				}
			}
		}
		if _, err := j.Get(context.Background(), journal.Rejected, 99); err == nil {
			t.Error("a record not in the journal was found")
		}
	}
	check(j)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = journal.Open(journal.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	check(j)
	ro, err := journal.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got := walk(t, ro, journal.Query{Limit: 4}); !slices.Equal(got, keys(want)) {
		t.Errorf("read-only journal lists %v", got)
	}
}

// TestSlowSubscriberDropped: a subscriber that never reads is dropped as
// soon as its buffer is full, and no delivery waits for it.
func TestSlowSubscriberDropped(t *testing.T) {
	j, err := journal.Open(journal.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	stuck := j.Subscribe(1)
	reader := j.Subscribe(100)
	for i := range int64(5) {
		// Each Commit returns after its own commit: five commits.
		if _, err := j.Commit(journal.Record{Time: time.Now(), IEvent: ptr(i), Type: "Subscriber/Created", Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	if !stuck.Dropped() {
		t.Error("a subscriber with a full buffer was not dropped")
	}
	n := 0
	for b := range stuck.C {
		n += len(b)
	}
	if n != 1 {
		t.Errorf("the dropped subscriber got %d records, want the 1 its buffer held", n)
	}
	if reader.Dropped() || j.Subscribers() != 1 {
		t.Errorf("the reading subscriber: dropped %v, %d subscribers", reader.Dropped(), j.Subscribers())
	}
	got := 0
	for got < 5 {
		got += len(<-reader.C)
	}
	reader.Close()
	if _, ok := <-reader.C; ok || j.Subscribers() != 0 {
		t.Error("Close left the subscription open")
	}
}

// TestListingOfTheFirstSchema: a journal written before raw capture and
// the inspector lists, searches (by i_event: it has no entity) and
// counts, read-only as it is, and after serve upgraded it.
func TestListingOfTheFirstSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(testutil.FirstJournalSchema + `
		INSERT INTO events VALUES(7, 'Subscriber/Created', '{"i_event":7,"i_account":3}', 2, 1000, 2000, 'basic', 200, '');
		INSERT INTO events VALUES(8, 'Subscriber/Updated', '{"i_event":8,"i_account":3}', 1, 3000, 3000, 'basic', 200, '');
		INSERT INTO rejections VALUES(1, 2500, 8, 'Subscriber/Updated', 500, 'basic', 'ok', 'fault: fail-first');`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	check := func(j *journal.Journal) {
		t.Helper()
		for _, tt := range []struct {
			q    journal.Query
			want string
		}{{journal.Query{}, "first/8 rejected/1 first/7"}, {journal.Query{Search: "8"}, "first/8 rejected/1"},
			{journal.Query{Search: "i_account=3"}, ""}, {journal.Query{Kinds: []journal.Kind{journal.Duplicate}}, ""}} {
			p, err := j.Page(context.Background(), tt.q)
			if err != nil {
				t.Fatalf("%+v: %v", tt.q, err)
			}
			if got := fmt.Sprint(keys(p.Records)); got != "["+tt.want+"]" {
				t.Errorf("%+v: %s, want [%s]", tt.q, got, tt.want)
			}
		}
		c, err := j.Counts(context.Background())
		if err != nil || c.Events != 2 || c.Duplicates != 1 || c.Rejected != 1 || c.ByAnswer[200] != 3 {
			t.Errorf("counts %+v %v", c, err)
		}
		evs := events(t, j, journal.Query{})
		if len(evs) != 2 || evs[0].ID != 7 || evs[0].Body != nil || evs[0].Headers != nil || string(evs[1].Variables) != `{"i_event":8,"i_account":3}` {
			t.Errorf("events %+v: want 7 and 8 with their variables and no raw capture", evs)
		}
		rej := list(t, j, journal.Query{Kinds: []journal.Kind{journal.Rejected}, Capture: true})
		if len(rej) != 1 || rej[0].Reason != "fault: fail-first" || rej[0].Truncated() || rej[0].Forwarded {
			t.Errorf("rejections %+v", rej)
		}
		if n, err := j.RejectionsDropped(context.Background()); err != nil || n != 0 {
			t.Errorf("rejections dropped: %d, %v; want 0", n, err)
		}
	}
	ro, err := journal.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	if ro.KeepsCopies() {
		t.Error("a journal of the first schema keeps copies")
	}
	check(ro)
	ro.Close()
	j, err := journal.Open(journal.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if !j.KeepsCopies() {
		t.Error("an upgraded journal keeps no copies")
	}
	check(j)
}
