package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/testutil"
)

// testApp is the user's Application in the forwarding tests: per i_event,
// 1 answers 200, 2 answers 400, 3 answers 500 then 200, 4 hangs. It
// records every request it got.
type testApp struct {
	mu     sync.Mutex
	got    []appHit
	seen   map[int64]int
	stop   chan struct{}
	server *httptest.Server
}

type appHit struct {
	iEvent int64
	method string
	body   []byte
	header http.Header
}

func startTestApp(t *testing.T) *testApp {
	t.Helper()
	a := &testApp{seen: map[int64]int{}, stop: make(chan struct{})}
	a.server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(func() { close(a.stop); a.server.Close() })
	return a
}

func (a *testApp) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var id int64
	if ev, err := event.Decode(body); err == nil {
		id, _ = ev.IEvent()
	}
	a.mu.Lock()
	a.got = append(a.got, appHit{iEvent: id, method: r.Method, body: body, header: r.Header.Clone()})
	a.seen[id]++
	n := a.seen[id]
	a.mu.Unlock()
	switch {
	case id == 1 || (id == 3 && n > 1):
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	case id == 2:
		http.Error(w, "no handler for this event type", http.StatusBadRequest)
	case id == 3:
		http.Error(w, "PDOException: SQLSTATE[HY000] [2002] database is down", http.StatusInternalServerError)
	case id == 4:
		select {
		case <-r.Context().Done():
		case <-a.stop:
		}
	default:
		http.Error(w, "unexpected", http.StatusTeapot)
	}
}

func (a *testApp) hits() []appHit {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]appHit(nil), a.got...)
}

// forwardBodies are the events sent: spacing, key order, an extra
// top-level field, non-ASCII and <&> that a re-encoder would change.
var forwardBodies = map[int64]string{
	1: `{"event_type": "Subscriber/Created",  "variables": {"i_event": 1, "i_account": 1000889, "note": "<b>&amp; é"}, "extra": true}`,
	2: `{"variables":{"i_account":1000890,"i_event":2},"event_type":"Subscriber/Created"}`,
	3: "{\"event_type\":\"Subscriber/Updated\",\n \"variables\":{\"i_event\":\"3\",\"i_account\":1000891}}",
	4: `{"event_type":"Subscriber/Deleted","variables":{"i_event":4,"i_account":1000892}}`,
}

type sliceSource struct {
	items []event.Item
}

func (s *sliceSource) Next() (event.Item, error) {
	if len(s.items) == 0 {
		return event.Item{}, io.EOF
	}
	it := s.items[0]
	s.items = s.items[1:]
	return it, nil
}

func forwardEvents() event.Source {
	s := &sliceSource{}
	for id := int64(1); id <= 4; id++ {
		ev, err := event.Decode([]byte(forwardBodies[id]))
		if err != nil {
			panic(err)
		}
		s.items = append(s.items, event.Item{IEvent: id, Type: ev.Type, Entity: ev.Entity(), Body: []byte(forwardBodies[id])})
	}
	return s
}

// sendAll runs the ESPF engine against url and returns each event's
// attempts as "answer:outcome".
func sendAll(t *testing.T, url string, au sign.Auth, timeout time.Duration) map[int64][]string {
	t.Helper()
	out := map[int64][]string{}
	_, err := sim.Run(t.Context(), sim.Config{URL: url, Auth: au, Events: forwardEvents(),
		Phases:  []sim.Phase{{Rate: sim.Rate{Freq: 50, Per: time.Second}}},
		Timeout: timeout, Retry: sim.Retry{Interval: 20 * time.Millisecond, MaxAttempts: 3, Jitter: -1},
		Drain: forever,
		Sink: sim.RecordFunc(func(r *sim.Record) {
			out[r.IEvent] = append(out[r.IEvent], string(r.Outcome))
		})})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runServe runs `espfctl serve args…` in this process until the returned
// stop is called; it returns the delivery address (from --ready-file) and
// stop, which returns the exit code, stdout and stderr.
func runServe(t *testing.T, args ...string) (string, func() (int, string, string)) {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "addr")
	ios, out, errb := testutil.IO()
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--ready-file", ready}, args...), ios)
	}()
	addr := waitReady(t, ready, code, errb.String)
	stopped := false
	var c int
	stop := func() (int, string, string) {
		if !stopped {
			cancel()
			c, stopped = <-code, true
		}
		return c, out.String(), errb.String()
	}
	t.Cleanup(func() { stop() })
	return addr, stop
}

// waitReady waits for serve to write its address to path (--ready-file),
// or to exit before it listens: its exit code on exited, which is put back
// for whoever stops it, and its stderr from errs. Only the test's -timeout
// bounds the wait.
func waitReady(t *testing.T, path string, exited chan int, errs func() string) string {
	t.Helper()
	for {
		if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return string(bytes.TrimSpace(b))
		}
		select {
		case c := <-exited:
			exited <- c
			t.Fatalf("serve exited with %d before listening: %s", c, errs())
		case <-time.After(10 * time.Millisecond): // polls another goroutine's file; not a timing assertion
		}
	}
}

// answerWithin is how long the sender, and serve's --forward-timeout, wait
// for the test Application: long enough that an answer it gives at once
// arrives within it on any machine, however busy; i_event 4, which never
// gets an answer, takes three of it on each side.
const answerWithin = time.Second

func TestServeForwardTo(t *testing.T) {
	t.Parallel()
	basic := func(pw string) sign.Auth {
		au, err := sign.New(sign.Config{Scheme: "basic", Users: []string{"pb"}, Passwords: []string{pw}})
		if err != nil {
			t.Fatal(err)
		}
		return au
	}
	au := basic("s3cret")
	// Without serve: the sender against the Application itself.
	direct := startTestApp(t)
	want := sendAll(t, direct.server.URL+"/espf", au, answerWithin)

	app := startTestApp(t)
	db := filepath.Join(t.TempDir(), "espf.db")
	addr, stop := runServe(t, "--auth", "basic", "--user", "pb", "--password", "s3cret", "--journal", db,
		"--admin-listen", "off", "--forward-to", app.server.URL+"/espf", "--forward-timeout", answerWithin.String())
	got := sendAll(t, "http://"+addr+"/", au, forever) // serve answers 504 after answerWithin

	// The sender sees what it would see without serve in between.
	for id := int64(1); id <= 4; id++ {
		if strings.Join(got[id], ",") != strings.Join(want[id], ",") {
			t.Errorf("i_event %d through serve: outcomes %v, without serve %v", id, got[id], want[id])
		}
	}
	if w := strings.Join(want[3], ","); w != "resent,delivered" {
		t.Errorf("i_event 3 without serve: %s, want resent then delivered", w)
	}
	// Duplicates are forwarded too.
	post := func(au sign.Auth, id int64) int {
		req, err := espf.NewRequest(t.Context(), "http://"+addr+"/", []byte(forwardBodies[id]), nil, au, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := espf.NewClient(nil, nil, 0).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(au, 1); c != 200 {
		t.Errorf("duplicate of i_event 1: %d, want 200 (the Application's answer)", c)
	}
	before := len(app.hits())
	if c := post(basic("n0t-th3-pw"), 1); c != 401 {
		t.Errorf("wrong password: %d, want 401", c)
	}
	checkAppHits(t, app, direct, before)

	code, stdout, stderr := stop()
	if code != 0 {
		t.Fatalf("serve exit %d: %s", code, stderr)
	}
	for _, re := range []string{
		`(?m)^\S+\t1\tSubscriber/Created\ti_account=1000889\tok\t200\tfirst\t\S+\tapp 200 in `,
		`(?m)^\S+\t1\tSubscriber/Created\ti_account=1000889\tok\t200\tdup\t`,
		`(?m)^\S+\t2\t.*\t400\t-\t\S+\tapp 400 in \S+: "no handler for this event type"; the ESPF drops the event$`,
		`(?m)^\S+\t3\t.*\t500\t-\t\S+\tapp 500 in \S+: "PDOException: SQLSTATE\[HY000\] \[2002\] database is down"; the ESPF re-sends it$`,
		`(?m)^\S+\t4\t.*\t504\t-\t\S+\tapp gave no answer in time \(\S+\): timeout: .*; the ESPF re-sends it$`,
		`(?m)^\S+\t-\t-\t-\tfailed\t401\t-\t\S+\tmismatch: .*; the ESPF drops the event$`,
	} {
		assertMatch(t, "serve's lines", stdout, re)
	}
	if strings.Contains(stdout+stderr, "s3cret") || strings.Contains(stdout+stderr, "n0t-th3-pw") {
		t.Errorf("a password is in serve's output:\n%s\n%s", stdout, stderr)
	}
	checkForwardJournal(t, db)
}

// checkAppHits: every body arrived byte for byte with the sender's
// headers; the rejected delivery did not arrive.
func checkAppHits(t *testing.T, app, direct *testApp, before int) {
	t.Helper()
	hits := app.hits()
	if len(hits) != before {
		t.Errorf("the delivery with the wrong password reached the Application: %d hits, want %d", len(hits), before)
	}
	count := map[int64]int{}
	for _, h := range hits {
		count[h.iEvent]++
		if string(h.body) != forwardBodies[h.iEvent] {
			t.Errorf("i_event %d: the Application got body %q, want the sender's bytes %q", h.iEvent, h.body, forwardBodies[h.iEvent])
		}
		if h.method != http.MethodPost || h.header.Get("Content-Type") != "application/json" || h.header.Get("Te") != "trailers" ||
			h.header.Get("Date") == "" || !strings.HasPrefix(h.header.Get("Authorization"), "Basic ") {
			t.Errorf("i_event %d: the Application got %s with headers %v; want POST, Content-Type, TE: trailers, Date and the Basic credentials", h.iEvent, h.method, h.header)
		}
		if h.header.Get("Connection") != "" || h.header.Get("Accept-Encoding") != "" {
			t.Errorf("i_event %d: hop-by-hop or added headers reached the Application: %v", h.iEvent, h.header)
		}
	}
	if d := direct.hits(); len(d) > 0 && hits[0].header.Get("User-Agent") != d[0].header.Get("User-Agent") {
		t.Errorf("User-Agent through serve %q, without %q", hits[0].header.Get("User-Agent"), d[0].header.Get("User-Agent"))
	}
	for id, want := range map[int64]int{1: 2, 2: 1, 3: 2, 4: 3} {
		if count[id] != want {
			t.Errorf("i_event %d reached the Application %d times, want %d", id, count[id], want)
		}
	}
}

// checkForwardJournal: the journal keeps both sides; journal --rejected
// lists the wrong password with its reason, and the Application's refusals.
func checkForwardJournal(t *testing.T, db string) {
	t.Helper()
	ios, out, errb := testutil.IO()
	if code := run(context.Background(), []string{"journal", db, "--json"}, ios); code != 0 {
		t.Fatalf("journal --json: exit %d: %s", code, errb)
	}
	evs := map[int64]journal.Record{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e journal.Record
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("journal --json line %q: %v", line, err)
		}
		evs[e.ID] = e
	}
	for _, id := range []int64{1, 3} {
		e := evs[id]
		if string(e.Body) != forwardBodies[id] || e.ForwardStatus == nil || *e.ForwardStatus != 200 || e.ForwardMS == nil {
			t.Errorf("journal event %d: body %q, app status %v; want the exact body and the Application's 200 with its time", id, e.Body, e.ForwardStatus)
		}
		if got := e.Headers["Authorization"]; len(got) != 1 || got[0] != "Basic [redacted]" {
			t.Errorf("journal event %d: Authorization captured as %q, want it redacted", id, got)
		}
	}
	if evs[1].Deliveries != 2 || len(evs) != 2 {
		t.Errorf("journal events %v: want 1 (delivered twice) and 3", evs)
	}
	if !strings.Contains(out.String(), `\"note\": \"<b>&amp; é\"}, \"extra\": true}"`) {
		t.Errorf("journal --json escaped or re-encoded the body: %s", out)
	}

	ios, out, errb = testutil.IO()
	if code := run(context.Background(), []string{"journal", db, "--rejected"}, ios); code != 0 {
		t.Fatalf("journal --rejected: exit %d: %s", code, errb)
	}
	rej := out.String()
	for _, re := range []string{
		`(?m)^\S+\t401\tbasic/failed\t127\.0\.0\.1:\d+\t-\t-\t-\tmismatch: `,
		`(?m)^\S+\t400\tbasic/ok\t127\.0\.0\.1:\d+\t2\tSubscriber/Created\t400\tthe Application answered 400 in \S+: "no handler for this event type"`,
		`(?m)^\S+\t500\tbasic/ok\t127\.0\.0\.1:\d+\t3\tSubscriber/Updated\t500\tthe Application answered 500 in \S+: "PDOException: `,
		`(?m)^\S+\t504\tbasic/ok\t127\.0\.0\.1:\d+\t4\tSubscriber/Deleted\ttimeout\tthe Application did not answer within ` + answerWithin.String(),
	} {
		assertMatch(t, "journal --rejected", rej, re)
	}
	// The Application's own words are kept with its refusal: status,
	// headers and body.
	ios, out, _ = testutil.IO()
	run(context.Background(), []string{"journal", db, "--rejected", "--json"}, ios)
	said := false
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r journal.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("journal --rejected --json line %q: %v", line, err)
		}
		if r.IEvent != nil && *r.IEvent == 3 {
			a := r.ForwardAnswer
			if a == nil || a.Status != 500 || !strings.HasPrefix(a.Body, "PDOException: SQLSTATE[HY000]") ||
				a.Headers.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("journal --rejected --json, i_event 3: forward_answer %+v; want the Application's 500, its headers and its body", a)
			}
			said = true
		}
	}
	if !said {
		t.Errorf("journal --rejected --json has no line for i_event 3:\n%s", out)
	}
	ios, out, _ = testutil.IO()
	run(context.Background(), []string{"journal", db, "--rejected", "--raw"}, ios)
	if raw := out.String(); !strings.Contains(raw, "Authorization: Basic [redacted]") || !strings.Contains(raw, forwardBodies[2]) {
		t.Errorf("journal --rejected --raw lacks the redacted credentials or a body:\n%s", raw)
	}
}

func assertMatch(t *testing.T, what, text, re string) {
	t.Helper()
	if !regexp.MustCompile(re).MatchString(text) {
		t.Errorf("%s: no match for %s in:\n%s", what, re, text)
	}
}
