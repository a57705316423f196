package verify_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/espfctl/espfctl/internal/verify"
)

// fill writes a known mix of rows into j and waits until every one is
// committed: first deliveries of two types, duplicates, rejections (401
// without an event, 400 and 500 with one), a replay, and rows that share
// their time with another kind (the listing orders them by kind).
func fill(t *testing.T, j *verify.Journal) []verify.Row {
	t.Helper()
	sub := j.Subscribe(1000)
	defer sub.Close()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	event := func(id int64, typ string, ms int) verify.Entry {
		vars := fmt.Sprintf(`{"i_event":%d,"i_account":%d}`, id, 1000+id)
		return verify.Entry{At: at(ms), IEvent: id, HasEvent: true, Type: typ, Variables: json.RawMessage(vars), AuthScheme: "basic",
			Auth: "ok", Status: 200, Entity: fmt.Sprintf("i_account=%d", 1000+id),
			Body:    []byte(`{"event_type":"` + typ + `","variables":` + vars + `}`),
			Headers: verify.Headers{"Authorization": {"Basic [redacted]"}, "Content-Type": {"application/json"}}}
	}
	want := 0
	record := func(e verify.Entry) {
		t.Helper()
		if _, err := j.Record(e); err != nil {
			t.Fatal(err)
		}
		want++
	}
	reject := func(e verify.Entry) { j.Log(e); want++ }
	for i := range int64(8) {
		typ := "Subscriber/Created"
		if i%3 == 2 {
			typ = "Subscriber/Updated"
		}
		record(event(10+i, typ, int(i)*10))
	}
	record(event(11, "Subscriber/Created", 100)) // duplicate
	record(event(11, "Subscriber/Created", 110)) // duplicate
	reject(verify.Entry{At: at(20), AuthScheme: "basic", Auth: "failed", Status: 401, Reason: "mismatch: wrong password"})
	bad := event(30, "Subscriber/Created", 120)
	bad.Status, bad.Reason, bad.Forwarded, bad.ForwardStatus, bad.ForwardMS = 500, "the Application answered 500", true, 500, 1.5
	reject(bad)
	four := event(31, "Account/Blocked", 130)
	four.Status, four.Reason = 400, "missing variables"
	reject(four)
	if _, err := j.RecordReplay(verify.Entry{At: at(140), IEvent: 12, HasEvent: true, Type: "Subscriber/Updated",
		Entity: "i_account=1012", Status: 200, Forwarded: true, ForwardStatus: 200, ForwardMS: 2, Source: "first/12",
		Body: []byte(`{"x":1}`)}); err != nil {
		t.Fatal(err)
	}
	want++
	return awaitRows(t, sub, want)
}

// awaitRows reads sub until want rows are committed, and returns them.
func awaitRows(t *testing.T, sub *verify.Subscription, want int) []verify.Row {
	t.Helper()
	var rows []verify.Row
	for len(rows) < want {
		select {
		case b, ok := <-sub.C:
			if !ok {
				t.Fatalf("subscription closed after %d of %d rows (dropped: %v)", len(rows), want, sub.Dropped())
			}
			rows = append(rows, b...)
		case <-time.After(10 * time.Second): // a guard against a hung test, not an assertion
			t.Fatalf("%d of %d rows committed", len(rows), want)
		}
	}
	return rows
}

func newestFirst(rows []verify.Row) []verify.Row {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b verify.Row) int {
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

func keys(rows []verify.Row) []string {
	out := make([]string, len(rows))
	for i := range rows {
		out[i] = rows[i].Key()
	}
	return out
}

// walk reads every page of f, older and older, then back newer and newer
// from the last page; both ways must give the same rows.
func walk(t *testing.T, j *verify.Journal, f verify.RowFilter) []string {
	t.Helper()
	ctx := context.Background()
	var down [][]string
	var last verify.RowPage
	for {
		p, err := j.Rows(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Rows) > f.Limit {
			t.Fatalf("page of %d rows, limit %d", len(p.Rows), f.Limit)
		}
		down = append(down, keys(p.Rows))
		last = p
		if p.Older == nil {
			break
		}
		f.Before, f.After = p.Older, nil
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
		f.Before, f.After = nil, p.Newer
		var err error
		if p, err = j.Rows(ctx, f); err != nil {
			t.Fatal(err)
		}
		up = append(up, keys(p.Rows))
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

// TestRowsListing: the journal listed as deliveries, newest first, paged
// both ways with any page size, filtered by type, kind, consequence and
// search exactly as RowFilter.Match filters a live row, counted, and read
// back in detail — the same after the journal is reopened.
func TestRowsListing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := verify.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	live := fill(t, j)
	want := newestFirst(live)
	if n := len(want); n != 14 {
		t.Fatalf("%d rows committed, want 14", n)
	}
	check := func(j *verify.Journal) {
		t.Helper()
		for _, f := range []verify.RowFilter{{}, {Type: "Subscriber/Created"}, {Kind: verify.RowRejected}, {Kind: verify.RowDuplicate},
			{Kind: verify.RowReplay}, {Class: espf.Dropped}, {Class: espf.Resent}, {Class: espf.Delivered}, {Search: "11"},
			{Search: "1012"}, {Search: "i_account=1030"}, {Search: "nothing"}, {Type: "Subscriber/Created", Class: espf.Resent}} {
			var sel []verify.Row
			for i := range want {
				if f.Match(&want[i]) {
					sel = append(sel, want[i])
				}
			}
			for _, limit := range []int{1, 3, 50} {
				f.Limit = limit
				if got := walk(t, j, f); !slices.Equal(got, keys(sel)) {
					t.Errorf("filter %+v limit %d: rows %v, want %v", f, limit, got, keys(sel))
				}
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
		replay := slices.IndexFunc(want, func(r verify.Row) bool { return r.Kind == verify.RowReplay })
		for _, key := range []struct {
			kind verify.RowKind
			id   int64
		}{{verify.RowFirst, 11}, {verify.RowDuplicate, att[1].ID}, {verify.RowRejected, 2}, {verify.RowReplay, want[replay].ID}} {
			d, err := j.RowDetail(context.Background(), key.kind, key.id)
			if err != nil {
				t.Fatalf("%s/%d: %v", key.kind, key.id, err)
			}
			switch key.kind {
			case verify.RowFirst, verify.RowDuplicate:
				if !d.Complete() || d.BodyJSON() == nil || d.Headers["Authorization"][0] != "Basic [redacted]" || d.Type != "Subscriber/Created" {
					t.Errorf("%s: %+v", key.kind, d)
				}
				if key.kind == verify.RowFirst && (d.Event == nil || d.Event.Deliveries != 3) {
					t.Errorf("first: event %+v", d.Event)
				}
			case verify.RowRejected:
				if d.Status != 500 || d.ForwardStatus == nil || *d.ForwardStatus != 500 || d.Entity != "i_account=1030" {
					t.Errorf("rejected: %+v", d.Row)
				}
			case verify.RowReplay:
				if string(d.Body) != `{"x":1}` || d.Source != "first/12" || !d.Forwarded {
					t.Errorf("replay: %+v", d)
				}
			}
		}
		if _, err := j.RowDetail(context.Background(), verify.RowRejected, 99); err == nil {
			t.Error("a row not in the journal was found")
		}
	}
	check(j)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = verify.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	check(j)
	ro, err := verify.OpenJournalReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got := walk(t, ro, verify.RowFilter{Limit: 4}); !slices.Equal(got, keys(want)) {
		t.Errorf("read-only journal lists %v", got)
	}
}

// TestSlowSubscriberDropped: a subscriber that never reads is dropped as
// soon as its buffer is full, and no delivery waits for it.
func TestSlowSubscriberDropped(t *testing.T) {
	j, err := verify.OpenJournal("")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	stuck := j.Subscribe(1)
	reader := j.Subscribe(100)
	for i := range int64(5) {
		// Each Record returns after its own commit: five commits.
		if _, err := j.Record(verify.Entry{At: time.Now(), IEvent: i, HasEvent: true, Type: "Subscriber/Created", Status: 200}); err != nil {
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
		t.Errorf("the dropped subscriber got %d rows, want the 1 its buffer held", n)
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

// TestRowsOfTheFirstSchema: a journal written before raw capture and the
// inspector lists, searches (by i_event: it has no entity) and counts,
// read-only as it is, and after serve upgraded it.
func TestRowsOfTheFirstSchema(t *testing.T) {
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
	check := func(j *verify.Journal) {
		t.Helper()
		for _, tt := range []struct {
			f    verify.RowFilter
			want string
		}{{verify.RowFilter{}, "first/8 rejected/1 first/7"}, {verify.RowFilter{Search: "8"}, "first/8 rejected/1"},
			{verify.RowFilter{Search: "i_account=3"}, ""}, {verify.RowFilter{Kind: verify.RowDuplicate}, ""}} {
			p, err := j.Rows(context.Background(), tt.f)
			if err != nil {
				t.Fatalf("%+v: %v", tt.f, err)
			}
			if got := fmt.Sprint(keys(p.Rows)); got != "["+tt.want+"]" {
				t.Errorf("%+v: %s, want [%s]", tt.f, got, tt.want)
			}
		}
		c, err := j.Counts(context.Background())
		if err != nil || c.Events != 2 || c.Duplicates != 1 || c.Rejected != 1 || c.ByAnswer[200] != 3 {
			t.Errorf("counts %+v %v", c, err)
		}
	}
	ro, err := verify.OpenJournalReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	check(ro)
	ro.Close()
	j, err := verify.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	check(j)
}

// TestReplaySignsAgain: a replay of a recorded delivery (its credential
// redacted, its Date old) reaches the Application with the body byte for
// byte and a credential that verifies now, for every scheme; the journal
// keeps it as a replay row with the credential redacted.
func TestReplaySignsAgain(t *testing.T) {
	body := []byte(`{"event_type":"Subscriber/Created","variables":{"i_event":5,"i_account":9}}`)
	for _, cfg := range []sign.Config{
		{Scheme: sign.SchemeBasic, Users: []string{"pb"}, Passwords: []string{"pw"}},
		{Scheme: sign.SchemeCustom, Name: "Plain", Credentials: []string{"c"}},
		{Scheme: sign.SchemeSignature, KeyIDs: []string{"k"}, Keys: []string{"key"}, MaxSkew: sign.DefaultMaxSkew},
		{Scheme: sign.SchemeBearer, Keys: []string{"key"}, MaxSkew: sign.DefaultMaxSkew},
	} {
		t.Run(cfg.Scheme, func(t *testing.T) {
			au := mustAuth(t, cfg)
			var got http.Header
			var gotBody []byte
			app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, gotBody = r.Header.Clone(), must(io.ReadAll(r.Body))
				if err := au.Verify(r.Header, gotBody, time.Now()); err != nil {
					w.WriteHeader(401)
					return
				}
			}))
			defer app.Close()
			rc, err := verify.NewReceiver(verify.Config{Auth: au, Forward: &verify.Forward{URL: app.URL}})
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			word := map[string]string{sign.SchemeBasic: "Basic ", sign.SchemeSignature: "Signature ", sign.SchemeBearer: "Bearer "}[cfg.Scheme]
			res, err := rc.Replay(t.Context(), verify.ReplayRequest{Body: body, Source: "first/5", Header: http.Header{
				"Authorization": {word + verify.Redacted}, "Date": {"Mon, 02 Jan 2006 15:04:05 GMT"}, "Host": {"espf.example"},
				"Content-Type": {"application/json"}, "Te": {"trailers"}, "Content-Length": {"999"}}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != 200 || !res.Signed || string(gotBody) != string(body) {
				t.Fatalf("replay: %+v; the Application got %q with %v", res, gotBody, got)
			}
			d, err := rc.Journal().RowDetail(t.Context(), verify.RowReplay, res.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v := d.Headers["Authorization"]; len(v) != 1 || !strings.Contains(v[0], verify.Redacted) || d.Source != "first/5" || d.Status != 200 {
				t.Errorf("the replay's row: %+v", d)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestEachRowCopies: EachRow walks the copies (duplicates and replays, not
// first deliveries or rejections) newest first across pages, exactly once
// each, stops at its limit, and keeps to Since and Type.
func TestEachRowCopies(t *testing.T) {
	j, err := verify.OpenJournal(filepath.Join(t.TempDir(), "espf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const n = verify.MaxRowLimit*2 + 7 // three pages
	for i := range n + 1 {             // a first delivery and n duplicates
		body := `{"event_type":"Subscriber/Created","variables":{"i_event":5,"i_account":1005}}`
		if _, err := j.Record(verify.Entry{At: t0.Add(time.Duration(i) * time.Millisecond), IEvent: 5, HasEvent: true, Type: "Subscriber/Created",
			Variables: json.RawMessage(`{"i_event":5,"i_account":1005}`), AuthScheme: "basic", Auth: "ok", Status: 200, Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	sub := j.Subscribe(16)
	defer sub.Close()
	j.Log(verify.Entry{At: t0.Add(time.Hour), AuthScheme: "basic", Auth: "failed", Status: 401, Reason: "mismatch"})
	// The rejection is journaled after its answer: wait for its commit.
	select {
	case <-sub.C:
	case <-time.After(10 * time.Second): // a guard against a hung test, not an assertion
		t.Fatal("the rejection was not committed")
	}
	if _, err := j.RecordReplay(verify.Entry{At: t0.Add(2 * time.Hour), IEvent: 5, HasEvent: true, Type: "Subscriber/Updated",
		Status: 200, Forwarded: true, ForwardStatus: 200, Source: "first/5", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	copies := verify.RowFilter{Kinds: []verify.RowKind{verify.RowDuplicate, verify.RowReplay}}
	list := func(f verify.RowFilter, limit int) []verify.Row {
		t.Helper()
		var out []verify.Row
		if err := j.EachRow(context.Background(), f, limit, func(r *verify.Row) error { out = append(out, *r); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := list(copies, 0)
	if len(all) != n+1 || all[0].Kind != verify.RowReplay || all[0].Source != "first/5" {
		t.Fatalf("%d copies, the first %+v; want the replay and %d duplicates", len(all), all[0], n)
	}
	for i, r := range all[1:] {
		if want := int64(n + 1 - i); r.Kind != verify.RowDuplicate || r.Deliveries != want {
			t.Fatalf("copy %d: %s with count %d, want the duplicate with count %d (newest first, each once)", i+1, r.Key(), r.Deliveries, want)
		}
	}
	if got := list(copies, verify.MaxRowLimit+3); len(got) != verify.MaxRowLimit+3 || got[len(got)-1].Key() != all[verify.MaxRowLimit+2].Key() {
		t.Errorf("limit %d: %d rows", verify.MaxRowLimit+3, len(got))
	}
	since := copies
	since.Since = t0.Add(time.Duration(n-2) * time.Millisecond) // the last three duplicates and the replay
	if got := keys(list(since, 0)); len(got) != 4 || got[0] != all[0].Key() || got[3] != all[3].Key() {
		t.Errorf("since: %v", got)
	}
	typed := copies
	typed.Type = "Subscriber/Updated"
	if got := keys(list(typed, 0)); len(got) != 1 || got[0] != all[0].Key() {
		t.Errorf("type: %v, want the replay only", got)
	}
}

// TestRejectionsLimitNewestOldestFirst: the rejections list oldest first;
// with a limit, the newest N, still oldest first (journal --rejected
// --limit N); with since, only those at or after it.
func TestRejectionsLimitNewestOldestFirst(t *testing.T) {
	j, err := verify.OpenJournal("")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	sub := j.Subscribe(16)
	defer sub.Close()
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for i := range 5 {
		j.Log(verify.Entry{At: t0.Add(time.Duration(i) * time.Second), AuthScheme: "basic", Auth: "failed", Status: 401, Reason: fmt.Sprintf("r%d", i)})
	}
	awaitRows(t, sub, 5)
	reasons := func(f verify.RejectFilter) string {
		t.Helper()
		rej, err := j.Rejections(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rej {
			out = append(out, r.Reason)
		}
		return strings.Join(out, ",")
	}
	for _, tt := range []struct {
		f    verify.RejectFilter
		want string
	}{
		{verify.RejectFilter{}, "r0,r1,r2,r3,r4"},
		{verify.RejectFilter{Limit: 2}, "r3,r4"},
		{verify.RejectFilter{Limit: 9}, "r0,r1,r2,r3,r4"},
		{verify.RejectFilter{Since: t0.Add(2 * time.Second)}, "r2,r3,r4"},
		{verify.RejectFilter{Since: t0.Add(2 * time.Second), Limit: 1}, "r4"},
	} {
		if got := reasons(tt.f); got != tt.want {
			t.Errorf("limit %d since %s: %s, want %s", tt.f.Limit, tt.f.Since.Format(time.TimeOnly), got, tt.want)
		}
	}
}
