package verify_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/espfctl/espfctl/internal/verify"
)

// fuzzReceiver is one receiver over loopback for a fuzzing process, with
// what it answered so far.
type fuzzReceiver struct {
	auth sign.Auth
	url  string
	mu   sync.Mutex
	got  []verify.Delivery
	ok   map[int64]int64 // 200 answers per i_event so far
}

func newFuzzReceiver(f *testing.F) *fuzzReceiver {
	au, err := sign.New(sign.Config{Scheme: "basic", Users: []string{"pb"}, Passwords: []string{"s3cret"}})
	if err != nil {
		f.Fatal(err)
	}
	fr := &fuzzReceiver{auth: au, ok: map[int64]int64{}}
	rc, err := verify.NewReceiver(verify.Config{Auth: au, MaxBody: 4 << 10, OnDelivery: func(d verify.Delivery) {
		fr.mu.Lock()
		fr.got = append(fr.got, d)
		fr.mu.Unlock()
	}})
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(rc)
	f.Cleanup(func() { srv.Close(); rc.Close() })
	fr.url = srv.URL
	return fr
}

// exchange writes raw on a new connection, half-closes it, and reads every
// answer until the server closes. It returns the deliveries the receiver
// handled meanwhile.
func (fr *fuzzReceiver) exchange(t *testing.T, raw []byte) ([]*http.Response, []verify.Delivery) {
	fr.mu.Lock()
	before := len(fr.got)
	fr.mu.Unlock()
	conn, err := net.Dial("tcp", strings.TrimPrefix(fr.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(testutil.Deadline(t)) // a hung target fails at the test's -timeout
	go func() {
		conn.Write(raw)
		conn.(*net.TCPConn).CloseWrite()
	}()
	br := bufio.NewReader(conn)
	var resps []*http.Response
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		resps = append(resps, resp)
	}
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return resps, append([]verify.Delivery(nil), fr.got[before:]...)
}

// validDelivery is the oracle: the first request in raw, if it is one the
// ESPF contract says must be answered 200 by this receiver.
func (fr *fuzzReceiver) validDelivery(raw []byte) (int64, bool) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil || req.Method != http.MethodPost || (req.Proto != "HTTP/1.1" && req.Proto != "HTTP/1.0") ||
		!validHeaders(req) ||
		req.Header.Get("Expect") != "" || req.URL.Path == "" {
		return 0, false
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 4<<10+1))
	if err != nil || len(body) > 4<<10 {
		return 0, false
	}
	if fr.auth.Verify(req.Header, nil, time.Now()) != nil {
		return 0, false
	}
	if _, _, err := sign.ParseDate(req.Header); err != nil {
		return 0, false
	}
	ev, err := event.Decode(body)
	if err != nil {
		return 0, false
	}
	id, _ := ev.IEvent()
	return id, true
}

// validHeaders is net/http's server-side check of a parsed request
// (conn.readRequest): one valid Host on HTTP/1.1, header names that are
// tokens and values without control characters; the server answers 400
// to any other request before a handler sees it.
func validHeaders(req *http.Request) bool {
	hosts := req.Header["Host"]
	if req.ProtoAtLeast(1, 1) && len(hosts) == 0 {
		return false
	}
	if len(hosts) == 1 && !allBytes(hosts[0], func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!$%&'()*+,-.:;=[]_~", c) >= 0
	}) {
		return false
	}
	for k, vv := range req.Header {
		if k == "" || !allBytes(k, func(c byte) bool {
			return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		}) {
			return false
		}
		for _, v := range vv {
			if !allBytes(v, func(c byte) bool { return c == '\t' || (c >= 0x20 && c != 0x7f) }) {
				return false
			}
		}
	}
	return true
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// FuzzReceiver sends arbitrary request bytes to the receiver over
// loopback: it never panics (the server stays up), never answers 5xx to
// bad input, answers a valid delivery 200, and journals each delivery
// answered 200 exactly once (its i_event's count goes up by one).
//
//	go test -run '^$' -fuzz FuzzReceiver -fuzztime 60s ./internal/verify
func FuzzReceiver(f *testing.F) {
	date := "Tue, 01 Dec 2026 10:00:00 GMT"
	good := "Authorization: Basic cGI6czNjcmV0\r\nDate: " + date + "\r\n"
	ev := `{"event_type":"Subscriber/Created","variables":{"i_account":1000889,"i_event":7615}}`
	cl := func(b string) string { return "Content-Length: " + itoa(int64(len(b))) + "\r\n\r\n" + b }
	for _, seed := range []string{
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + good + cl(ev),
		"POST /espf HTTP/1.1\r\nHost: x\r\n" + good + cl(`{"event_type":"A/B","variables":{"i_event":"42"}}`),
		"POST / HTTP/1.1\r\nHost: x\r\n" + good + "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"eve\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\n" + good + cl(ev) + "POST / HTTP/1.1\r\nHost: x\r\n" + good + cl(ev),
		"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cGI6bm9wZQ==\r\nDate: " + date + "\r\n" + cl(ev),
		"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cGI6czNjcmV0\r\n" + cl(ev),
		"POST / HTTP/1.1\r\nHost: x\r\n" + good + "Content-Length: 99999999\r\n\r\n{",
		"POST / HTTP/1.1\r\nHost: x\r\n" + good + "Expect: 100-continue\r\n" + cl(ev),
		"GET /events HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.0\r\n" + good + cl(`{"event_type":"Subscriber/Created","variables":{"i_event":1e3}}`),
		"POST / HTTP/1.1\r\nHost: x\r\n" + good + cl("{\"event_type\":\"A/\xff\x1b\",\"variables\":{\"i_event\":5}}"),
	} {
		f.Add([]byte(seed))
	}
	fr := newFuzzReceiver(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		id, valid := fr.validDelivery(raw)
		resps, ds := fr.exchange(t, raw)
		if valid && (len(resps) == 0 || resps[0].StatusCode != 200) {
			status := 0
			if len(resps) > 0 {
				status = resps[0].StatusCode
			}
			t.Fatalf("a valid delivery of i_event %d was answered %d (%d answers, deliveries %+v)", id, status, len(resps), ds)
		}
		fr.mu.Lock()
		defer fr.mu.Unlock()
		for _, d := range ds {
			if d.Status >= 500 {
				t.Fatalf("the receiver answered %d to bad input: %+v", d.Status, d)
			}
			if d.Status != 200 {
				continue
			}
			if d.IEvent == nil {
				t.Fatalf("answered 200 without an event: %+v", d)
			}
			prev := fr.ok[*d.IEvent]
			if d.Deliveries != prev+1 || d.Duplicate != (prev > 0) {
				t.Fatalf("i_event %d answered 200 with %d deliveries (duplicate %t) after %d: not journaled exactly once", *d.IEvent, d.Deliveries, d.Duplicate, prev)
			}
			fr.ok[*d.IEvent] = prev + 1
		}
	})
}

// FuzzJournalReader writes arbitrary values into a journal's rows, as a
// damaged or hand-edited file could hold them, in the current and the
// first schema, and reads them back as journal does: no panic; the JSON
// lines are valid UTF-8 JSON; the table has one line of 8 columns per
// event and no control character; the raw views hold no control character
// but their own line breaks.
//
//	go test -run '^$' -fuzz FuzzJournalReader -fuzztime 60s ./internal/verify
func FuzzJournalReader(f *testing.F) {
	f.Add(int64(7615), "Subscriber/Created", `{"i_event":7615}`, []byte(`{"event_type":"Subscriber/Created"}`), `{"Date":["x"]}`, "127.0.0.1:1", "mismatch", int64(200), false)
	f.Add(int64(-1), "A/\x1b[2J\n", "{\"a\":\"\xff\"}", []byte("\xff\xfe"), `{"X":["\u001b"]}`, "\u202e", "bad\r\nline\t", int64(0), true)
	f.Add(int64(0), "", "not json", []byte(nil), "[1,2]", "", "", int64(1<<40), false)
	// One file per schema for the whole run: each input replaces the rows.
	files := map[bool]*fuzzJournal{false: newFuzzJournal(f, false), true: newFuzzJournal(f, true)}
	f.Fuzz(func(t *testing.T, id int64, typ, vars string, body []byte, headers, remote, reason string, status int64, oldSchema bool) {
		fj := files[oldSchema]
		fj.replace(t, id, typ, vars, body, headers, remote, reason, status)
		var jsonl, table, raw bytes.Buffer
		enc := verify.NewJSONL(&jsonl)
		tab := report.NewEventTable(&table, false)
		rows := 0
		err := fj.ro.EachEvent(context.Background(), verify.Filter{}, func(e *verify.Event) error {
			rows++
			if err := enc.Encode(e); err != nil {
				return err
			}
			if err := report.RawEvent(&raw, e); err != nil {
				return err
			}
			return tab.Write(e)
		})
		if err != nil && !strings.HasPrefix(err.Error(), "read journal:") {
			t.Fatalf("events: %v", err)
		}
		err = fj.ro.EachRejection(context.Background(), verify.RejectFilter{}, func(x *verify.Rejection) error {
			if err := enc.Encode(x); err != nil {
				return err
			}
			return report.RawRejection(&raw, x)
		})
		if err != nil && !strings.HasPrefix(err.Error(), "read journal:") {
			t.Fatalf("rejections: %v", err)
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(jsonl.Bytes(), []byte("\n")), []byte("\n")) {
			if len(line) > 0 && (!utf8.Valid(line) || !json.Valid(line)) {
				t.Fatalf("journal --json line is not valid UTF-8 JSON: %q", line)
			}
		}
		if got := strings.Count(table.String(), "\n"); got != rows {
			t.Fatalf("table has %d lines for %d events: %q", got, rows, table.String())
		}
		for _, l := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
			if rows > 0 && strings.Count(l, "\t") != 7 {
				t.Fatalf("table line %q: want 8 columns", l)
			}
		}
		text := table.String() + strings.ReplaceAll(raw.String(), "\n", "")
		if i := strings.IndexFunc(text, isControl); i >= 0 || !utf8.ValidString(text) {
			t.Fatalf("control character in text output: table %q raw %q", table.String(), raw.String())
		}
	})
}

func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x202e
}

// fuzzJournal is a journal file whose rows a fuzz input replaces, written
// with plain SQL (no validation), and the read-only journal over it.
type fuzzJournal struct {
	db  *sql.DB
	ro  *verify.Journal
	old bool
}

func newFuzzJournal(f *testing.F, old bool) *fuzzJournal {
	path := filepath.Join(f.TempDir(), "j.db")
	if !old {
		j, err := verify.OpenJournal(path) // the current schema
		if err != nil {
			f.Fatal(err)
		}
		if err := j.Close(); err != nil {
			f.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=synchronous(OFF)")
	if err != nil {
		f.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	f.Cleanup(func() { db.Close() })
	if old {
		if _, err := db.Exec(`CREATE TABLE events (i_event INTEGER PRIMARY KEY, event_type TEXT NOT NULL, variables TEXT NOT NULL, deliveries INTEGER NOT NULL,
			first_delivery INTEGER NOT NULL, last_delivery INTEGER NOT NULL, auth_scheme TEXT NOT NULL, status INTEGER NOT NULL, flags TEXT NOT NULL DEFAULT '');
			CREATE TABLE rejections (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, i_event INTEGER, event_type TEXT NOT NULL, status INTEGER NOT NULL,
			auth_scheme TEXT NOT NULL, auth TEXT NOT NULL, reason TEXT NOT NULL)`); err != nil {
			f.Fatal(err)
		}
	}
	ro, err := verify.OpenJournalReadOnly(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ro.Close() })
	return &fuzzJournal{db: db, ro: ro, old: old}
}

// replace makes the file hold one event and one rejection with the values.
func (fj *fuzzJournal) replace(t *testing.T, id int64, typ, vars string, body []byte, headers, remote, reason string, status int64) {
	t.Helper()
	tx, err := fj.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	exec := func(q string, args ...any) {
		if _, err := tx.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`DELETE FROM events`)
	exec(`DELETE FROM rejections`)
	if fj.old {
		exec(`INSERT INTO events VALUES(?, ?, ?, 1, ?, ?, ?, ?, ?)`, id, typ, vars, status, status, remote, status, reason)
		exec(`INSERT INTO rejections VALUES(1, ?, ?, ?, ?, ?, ?, ?)`, status, id, typ, status, remote, reason, reason)
	} else {
		exec(`INSERT INTO events(i_event, event_type, variables, deliveries, first_delivery, last_delivery, auth_scheme, status, flags, body, headers, remote, forward_status, forward_ms)
			VALUES(?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, typ, vars, status, status, remote, status, reason, body, headers, remote, status, float64(status)/3)
		exec(`INSERT INTO rejections(at, i_event, event_type, status, auth_scheme, auth, reason, remote, body, body_size, headers, forward_status, forward_ms, forward_error)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, status, id, typ, status, remote, reason, reason, remote, body, status, headers, status, 1.5, reason)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
