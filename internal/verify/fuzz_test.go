package verify_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

// fuzzReceiver is one receiver for a fuzzing process, driven in process:
// each input is parsed into requests as net/http's server parses a
// connection's bytes, and each request is handed to the receiver's
// handler, with what it answered recorded. No server, no socket: an input
// costs what the receiver's pipeline costs (tens of microseconds), so the
// fuzzer explores (over loopback, with a server per connection, it ran 15
// inputs a minute).
type fuzzReceiver struct {
	auth sign.Auth
	rc   *verify.Receiver
	got  []verify.Delivery // this input's deliveries (the fuzz function runs one input at a time)
	ok   map[int64]int64   // 200 answers per i_event so far
}

func newFuzzReceiver(f *testing.F) *fuzzReceiver {
	au, err := sign.New(sign.Config{Scheme: "basic", Users: []string{"pb"}, Passwords: []string{"s3cret"}})
	if err != nil {
		f.Fatal(err)
	}
	fr := &fuzzReceiver{auth: au, ok: map[int64]int64{}}
	fr.rc, err = verify.NewReceiver(verify.Config{Auth: au, MaxBody: 4 << 10, OnDelivery: func(d verify.Delivery) {
		fr.got = append(fr.got, d)
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { fr.rc.Close() })
	return fr
}

// exchange reads the requests in raw as net/http's server reads one
// connection (stopping where it would answer 400 itself or close the
// connection) and serves each with the receiver's handler. It returns the
// answers and the deliveries the receiver reported. A panic other than
// http.ErrAbortHandler (net/http's "close the connection") fails the test.
func (fr *fuzzReceiver) exchange(t *testing.T, raw []byte) ([]*http.Response, []verify.Delivery) {
	fr.got = fr.got[:0]
	br := bufio.NewReader(bytes.NewReader(raw))
	var resps []*http.Response
	for {
		req, err := http.ReadRequest(br)
		if err != nil || !validHeaders(req) {
			break
		}
		req.RemoteAddr = "127.0.0.1:40000"
		rec := httptest.NewRecorder()
		if aborted := serveOne(t, fr.rc, rec, req); aborted {
			break
		}
		resp := rec.Result()
		resps = append(resps, resp)
		// net/http reads on only after a whole body, on a connection
		// neither side closes.
		if _, err := io.Copy(io.Discard, req.Body); err != nil || req.Close || resp.Close ||
			resp.Header.Get("Connection") == "close" || !req.ProtoAtLeast(1, 1) {
			break
		}
	}
	return resps, append([]verify.Delivery(nil), fr.got...)
}

// serveOne runs h for one request; aborted is true when h panicked with
// http.ErrAbortHandler.
func serveOne(t *testing.T, h http.Handler, w http.ResponseWriter, r *http.Request) (aborted bool) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				t.Fatalf("the receiver panicked: %v", p)
			}
			aborted = true
		}
	}()
	h.ServeHTTP(w, r)
	return false
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

// FuzzReceiver hands arbitrary request bytes, read as net/http's server
// reads a connection, to the receiver's handler in process: it never
// panics, never answers 5xx to bad input, answers a valid delivery 200,
// and journals each delivery answered 200 exactly once (its i_event's
// count goes up by one). About 15,000 inputs in 60 s on 2 shared cores
// (BENCHMARKS.md).
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
