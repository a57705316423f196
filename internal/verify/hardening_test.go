package verify_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/espfctl/espfctl/internal/verify"
)

// rawRequest writes head (and the first part of a body) on a fresh
// connection and reads the answer without sending the rest of the body.
func rawRequest(t *testing.T, addr, head string) (*http.Response, net.Conn) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(testutil.Deadline(t)) // a hung receiver fails at the test's -timeout
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	return resp, conn
}

// TestRefusedFromHeaders: a delivery with bad credentials, or one that
// declares a body over the limit, is answered at once, before its body was
// sent, and its connection is closed; the body never reaches the receiver.
func TestRefusedFromHeaders(t *testing.T) {
	au := mustAuth(t, sign.Config{Scheme: "basic", Users: []string{"pb"}, Passwords: []string{"s3cret"}})
	good := http.Header{}
	if err := au.Sign(good, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, srv := startReceiver(t, verify.Config{Auth: au})
	addr := strings.TrimPrefix(srv.URL, "http://")
	date := time.Now().UTC().Format(http.TimeFormat)
	for _, tt := range []struct {
		name, auth string
		length     int
		want       int
	}{
		{"no credentials, 1 MiB declared", "", 1 << 20, 401},
		{"wrong password, 1 MiB declared", "Basic cGI6bm9wZQ==", 1 << 20, 401},
		{"wrong password, 200 bytes declared", "Basic cGI6bm9wZQ==", 200, 401},
		{"good credentials, 1 MiB declared", good.Get("Authorization"), 1 << 20, 413},
	} {
		head := "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nDate: " + date + "\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n", tt.length)
		if tt.auth != "" {
			head += "Authorization: " + tt.auth + "\r\n"
		}
		head += "\r\n{\"event_type\":" // the body stalls here
		resp, conn := rawRequest(t, addr, head)
		resp.Body.Close()
		if resp.StatusCode != tt.want || !resp.Close {
			t.Errorf("%s: %d (close %t), want %d and the connection closed", tt.name, resp.StatusCode, resp.Close, tt.want)
		}
		// The server closes its side; reading finds the end, not a hang.
		if n, err := conn.Read(make([]byte, 1)); err == nil {
			t.Errorf("%s: the connection stayed open (%d more bytes)", tt.name, n)
		}
	}
}

// TestRejectionsBounded: rejected deliveries with 10 KB headers are kept
// small, escaped and at most MaxRejected of them; the dropped ones are
// counted; the listing shows reason, time, auth scheme and remote address.
func TestRejectionsBounded(t *testing.T) {
	j, err := journal.Open(journal.Config{Path: t.TempDir() + "/j.db", MaxRejected: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	au := mustAuth(t, sign.Config{Scheme: "custom", Name: "Plain", Credentials: []string{"passexample"}})
	_, srv := startReceiver(t, verify.Config{Auth: au, Journal: j})
	huge := "Plain " + strings.Repeat("x", 10<<10)
	for i := range 25 {
		code := post(t, srv.URL, nil, time.Now(), body(int64(i)), func(h http.Header) {
			h.Set("Authorization", huge)
			h.Set("X-Note", "tab\there \u202eevil \xff") // net/http refuses other control characters in headers
		})
		if code != 401 {
			t.Fatalf("status %d, want 401", code)
		}
	}
	// A bad body with control characters in its event_type.
	post(t, srv.URL, nil, time.Now(), `{"event_type":"AB\u001b[2J","variables":{"i_event":1}}`, func(h http.Header) { h.Set("Authorization", "Plain passexample") })
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := journal.OpenReadOnly(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	rej := rejections(t, ro)
	dropped, _ := ro.RejectionsDropped(t.Context())
	if len(rej) != 10 || dropped != 16 {
		t.Fatalf("%d rejections kept, %d dropped; want 10 kept and 16 dropped", len(rej), dropped)
	}
	size := 0
	for _, x := range rej[:9] {
		b, _ := json.Marshal(x)
		size += len(b)
		if x.Status != 401 || x.AuthScheme != "custom" || x.Auth != verify.AuthFailed || x.Reason == "" ||
			!strings.HasPrefix(x.Remote, "127.0.0.1:") || x.Time.IsZero() {
			t.Errorf("rejection %+v: want 401, custom/failed, a reason, a time and the remote address", x)
		}
		if got := x.Headers["Authorization"]; len(got) != 1 || got[0] != "Plain "+verify.Redacted {
			t.Errorf("Authorization kept as %q, want %q (the configured scheme name, the rest redacted)", got, "Plain "+verify.Redacted)
		}
		if note := x.Headers["X-Note"]; len(note) != 1 || note[0] != "tab\there \u202eevil \ufffd" {
			t.Errorf("X-Note %q: the raw capture keeps the text as received (bytes that are not UTF-8 as U+FFFD), escaped only on display", note)
		}
	}
	if size > 9*3000 {
		t.Errorf("9 rejections with 10 KB headers take %d bytes of JSON, want them bounded (under 3 KB each)", size)
	}
	last := rej[9]
	if last.Status != 400 || strings.ContainsAny(last.Type+last.Reason, "\x1b\n") || !strings.Contains(last.Reason, `\x1b[2J`) {
		t.Errorf("bad body rejection %+v: want 400 with control characters escaped in the type and reason", last)
	}
	if string(last.Body) != `{"event_type":"AB\u001b[2J","variables":{"i_event":1}}` {
		t.Errorf("the rejected body kept as %q, want the bytes received", last.Body)
	}
}

// TestEventsPagedAndStreamed: GET /events on the admin handler pages with
// after and limit, in first-delivery order, and says when after is unknown.
func TestEventsPagedAndStreamed(t *testing.T) {
	rc, srv := startReceiver(t, verify.Config{})
	admin := httptest.NewServer(rc.Admin())
	defer admin.Close()
	const n = 700 // more than one internal page
	for i := int64(1); i <= n; i++ {
		if c := post(t, srv.URL, nil, time.Now(), body(i*10), nil); c != 200 {
			t.Fatalf("delivery %d: %d", i, c)
		}
	}
	ids := func(url string) []int64 {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []int64
		dec := json.NewDecoder(resp.Body)
		for {
			var e journal.Record
			if err := dec.Decode(&e); err == io.EOF {
				return out
			} else if err != nil {
				t.Fatal(err)
			}
			out = append(out, e.ID)
		}
	}
	if all := ids(admin.URL + "/events"); len(all) != n || all[0] != 10 || all[n-1] != n*10 {
		t.Fatalf("/events: %d events, from %v; want all %d in order", len(all), all[:min(3, len(all))], n)
	}
	var got []int64
	after := ""
	for {
		page := ids(admin.URL + "/events?limit=300" + after)
		if len(page) == 0 {
			break
		}
		if len(page) > 300 {
			t.Fatalf("page of %d, want at most 300", len(page))
		}
		got = append(got, page...)
		after = fmt.Sprintf("&after=%d", page[len(page)-1])
	}
	if len(got) != n || got[299] != 3000 || got[300] != 3010 {
		t.Errorf("paged: %d events, want %d in order without gaps", len(got), n)
	}
	resp, err := http.Get(admin.URL + "/events?after=5")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("after an unknown i_event: %d, want 404", resp.StatusCode)
	}
}

// TestJournalJSONIsValidUTF8: a body that is not UTF-8 (JSON strings may
// carry any byte) is journaled as received and listed as body_base64, with
// the variables' bad bytes as U+FFFD; the line is valid UTF-8 JSON.
func TestJournalJSONIsValidUTF8(t *testing.T) {
	rc, srv := startReceiver(t, verify.Config{})
	bad := "{\"event_type\":\"Subscriber/Created\",\"variables\":{\"i_event\":9,\"name\":\"caf\xe9 \xff\"}}"
	if c := post(t, srv.URL, nil, time.Now(), bad, nil); c != 200 {
		t.Fatalf("status %d", c)
	}
	evs := events(t, rc.Journal())
	if len(evs) != 1 {
		t.Fatal(evs)
	}
	var buf bytes.Buffer
	if err := journal.NewEncoder(&buf).Encode(&evs[0]); err != nil {
		t.Fatal(err)
	}
	line := buf.Bytes()
	if !utf8.Valid(line) || !json.Valid(line) {
		t.Fatalf("journal line is not valid UTF-8 JSON: %q", line)
	}
	var m map[string]any
	json.Unmarshal(line, &m)
	if _, has := m["body"]; has || m["body_base64"] == nil {
		t.Errorf("line %s: want body_base64 and no body for bytes that are not UTF-8", line)
	}
	var back journal.Record
	if err := json.Unmarshal(line, &back); err != nil || string(back.Body) != bad || back.Kind != journal.First || back.ID != 9 {
		t.Errorf("read back: body %q (%v), want the bytes received", back.Body, err)
	}
	if !strings.Contains(string(line), `"name":"caf\ufffd \ufffd"`) {
		t.Errorf("variables: %s, want the bad bytes as \\ufffd", line)
	}
}

// TestFailFirstCountersFreed: the --fail-first counters are freed once an
// event was answered 200, and a later copy of it is not failed again.
func TestFailFirstCountersFreed(t *testing.T) {
	rc, srv := startReceiver(t, verify.Config{Faults: verify.Faults{FailFirst: 1}})
	admin := httptest.NewServer(rc.Admin())
	defer admin.Close()
	for i := int64(1); i <= 200; i++ {
		if c := post(t, srv.URL, nil, time.Now(), body(i), nil); c != 500 {
			t.Fatalf("first delivery of %d: %d, want 500", i, c)
		}
		if c := post(t, srv.URL, nil, time.Now(), body(i), nil); c != 200 {
			t.Fatalf("second delivery of %d: %d, want 200", i, c)
		}
	}
	if m := get(t, admin.URL+"/metrics"); !strings.Contains(m, "espf_fail_first_counters 0") {
		t.Errorf("fail-first counters are held after every event passed: %s", grep(m, "fail_first"))
	}
	if c := post(t, srv.URL, nil, time.Now(), body(7), nil); c != 200 {
		t.Errorf("a copy of a delivered event: %d, want 200 (not failed again)", c)
	}
}

func grep(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestLimitListener: past the cap a connection waits for a free slot and
// is served once one closes.
func TestLimitListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ll := verify.NewLimitListener(ln, 2)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") })}
	go srv.Serve(ll)
	defer srv.Close()
	addr := ln.Addr().String()
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		// One request each, so the server has accepted them.
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
	}
	if ll.Open() != 2 {
		t.Fatalf("open = %d, want 2", ll.Open())
	}
	third := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			defer c.Close()
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			_, err = http.ReadResponse(bufio.NewReader(c), nil)
		}
		third <- err
	}()
	held[0].Close()
	if err := <-third; err != nil {
		t.Errorf("the third connection, after one closed: %v", err)
	}
	held[1].Close()
}

// TestEscape: what the text outputs use on outside text.
func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"Subscriber/Created":     "Subscriber/Created",
		"a\tb\nc\r\x1b[31m\x7f":  `a\tb\nc\r\x1b[31m\x7f`,
		"caf\xe9":                `caf\xe9`,
		"é ok, \u202eevil\u2028": `é ok, \u202eevil\u2028`,
		"\u0085next-line":        `\u0085next-line`,
	} {
		if got := verify.Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestForwardWithoutAuthForwardsEverything: with no auth and a Forward,
// a GET and a body that is not an event reach the Application too, with
// serve's findings on the delivery; an unreachable Application is a 502.
func TestForwardWithoutAuthForwardsEverything(t *testing.T) {
	var got []string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+string(b))
		io.WriteString(w, "fine")
	}))
	defer app.Close()
	// serve journals a rejection and reports the delivery after the
	// answer has gone out: the test waits for both.
	delivered := make(chan verify.Delivery, 8)
	rc, srv := startReceiver(t, verify.Config{Forward: &verify.Forward{URL: app.URL}, OnDelivery: func(d verify.Delivery) { delivered <- d }})
	sub := rc.Journal().Subscribe(16)
	defer sub.Close()
	next := func() verify.Delivery { return <-delivered } // only the test's -timeout bounds the wait
	resp, err := http.Get(srv.URL + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "fine" {
		t.Errorf("GET through --no-auth forwarding: %d %q, want the Application's 200 fine", resp.StatusCode, b)
	}
	if c := post(t, srv.URL, nil, time.Now(), `not json`, nil); c != 200 {
		t.Errorf("a body that is not an event: %d, want the Application's 200", c)
	}
	if len(got) != 2 || got[0] != "GET " || got[1] != "POST not json" {
		t.Errorf("the Application got %q, want the GET and the POST as sent", got)
	}
	ds := []verify.Delivery{next(), next()}
	if !strings.Contains(strings.Join(ds[0].Flags, ";"), "serve would answer 405") ||
		!strings.Contains(strings.Join(ds[1].Flags, ";"), "serve would answer 400") || len(delivered) != 0 {
		t.Errorf("deliveries %+v (and %d more): want two, with serve's own findings as flags", ds, len(delivered))
	}
	testutil.AwaitRecords(t, sub, 2)
	rej := rejections(t, rc.Journal())
	if len(rej) != 2 || rej[1].Status != 200 || string(rej[1].Body) != "not json" {
		t.Errorf("rejections %+v: non-events the Application accepted are journaled with their body", rej)
	}

	app.Close()
	if c := post(t, srv.URL, nil, time.Now(), body(1), nil); c != http.StatusBadGateway {
		t.Errorf("Application gone: %d, want 502", c)
	}
	// A new connection is refused; a kept-alive one the closed Application
	// cut may end in EOF instead. Either is "unreachable": 502, re-sent.
	if last := next(); last.ForwardStatus != nil || !strings.Contains(last.ForwardError, "refused") && !strings.Contains(last.ForwardError, "eof") ||
		last.Consequence != "resent" {
		t.Errorf("delivery %+v: want no Application status, a refused (or cut) connection, and a re-send", last)
	}
}

// TestCaptureLimits: what the journal keeps of a delivery's headers, for
// an event and for a rejection: the credential redacted, at most 64 names
// (Host included), long values clipped, the rest counted under
// X-Espfctl-Omitted, repeated values of one name in order.
func TestCaptureLimits(t *testing.T) {
	rc, srv := startReceiver(t, verify.Config{Auth: mustAuth(t, sign.Config{Scheme: "basic", Users: []string{"u"}, Passwords: []string{"p"}})})
	send := func(iEvent int64, auth string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body(iEvent)))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		req.Header["A-Repeat"] = []string{"one", "two", "three"}
		req.Header.Set("A-Long", strings.Repeat("v", 5000))
		for i := range 70 {
			req.Header.Set(fmt.Sprintf("X-H%02d", i), strings.Repeat("x", 100))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// The rejection is queued before its answer; the writer commits it no
	// later than the group of the next accepted delivery.
	send(42, "Basic "+base64.StdEncoding.EncodeToString([]byte("u:wrong")))
	send(41, "Basic "+base64.StdEncoding.EncodeToString([]byte("u:p")))

	evs := events(t, rc.Journal())
	if len(evs) != 1 {
		t.Fatalf("events %+v; want one", evs)
	}
	h := evs[0].Headers
	// Host, A-Long, A-Repeat, Accept-Encoding, Authorization, Content-Length,
	// Date, User-Agent and X-H00…X-H55 make 64; X-H56…X-H69 are omitted.
	if len(h) != 65 || h["Authorization"][0] != "Basic [redacted]" || len(h["Host"]) != 1 ||
		strings.Join(h["A-Repeat"], ",") != "one,two,three" || len(h["X-H55"]) != 1 || h["X-H56"] != nil {
		t.Errorf("event headers (%d names): %v", len(h), h)
	}
	if got := strings.Join(h["A-Long"], ""); !strings.HasPrefix(got, strings.Repeat("v", 100)) || !strings.Contains(got, "bytes)") || len(got) > 4200 {
		t.Errorf("long value kept as %d bytes: %.80q…", len(got), got)
	}
	if got := h["X-Espfctl-Omitted"]; len(got) != 1 || got[0] != "14 header values over the capture limit" {
		t.Errorf("omitted: %q", got)
	}

	rej := rejections(t, rc.Journal())
	if len(rej) != 1 {
		t.Fatalf("rejections %+v; want one", rej)
	}
	size := 0
	for name, vs := range rej[0].Headers {
		if name == "X-Espfctl-Omitted" {
			continue
		}
		for _, v := range vs {
			size += len(name) + len(v)
		}
	}
	rh := rej[0].Headers
	// About 2 KiB of names and values (the last cut value's mark may pass
	// it by a few bytes), a value at most 256 bytes.
	if rh["Authorization"][0] != "Basic [redacted]" || size > 2<<10+32 || len(rh) > 30 || len(rh["X-Espfctl-Omitted"]) != 1 ||
		len(rh["A-Long"]) != 1 || !strings.Contains(rh["A-Long"][0], "bytes)") || len(rh["A-Long"][0]) > 300 {
		t.Errorf("rejection headers (%d bytes): %v", size, rh)
	}
	if len(rh) != 25 || rh["X-Espfctl-Omitted"][0] != "54 header values over the capture limit" {
		t.Errorf("rejection kept %d names, %d bytes, omitted %q; want 25 names, 54 values omitted", len(rh), size, rh["X-Espfctl-Omitted"])
	}
}
