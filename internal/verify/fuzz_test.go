package verify_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/event"
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
