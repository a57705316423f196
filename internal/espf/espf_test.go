package espf_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sign"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	transport := errors.New("connection reset")
	tests := []struct {
		status int
		err    error
		last   bool
		want   espf.Outcome
	}{
		{200, nil, false, espf.Delivered},
		{200, nil, true, espf.Delivered},
		{201, nil, false, espf.Resent},
		{204, nil, true, espf.GaveUp},
		{301, nil, false, espf.Resent},
		{400, nil, false, espf.Dropped},
		{401, nil, true, espf.Dropped},
		{429, nil, false, espf.Dropped},
		{499, nil, false, espf.Dropped},
		{500, nil, false, espf.Resent},
		{503, nil, true, espf.GaveUp},
		{0, transport, false, espf.Resent},
		{0, transport, true, espf.GaveUp},
	}
	for _, tt := range tests {
		if got := espf.Classify(tt.status, tt.err, tt.last); got != tt.want {
			t.Errorf("Classify(%d, %v, last=%t) = %s, want %s", tt.status, tt.err, tt.last, got, tt.want)
		}
	}
}

func TestOutcomeWordsAndLegacyName(t *testing.T) {
	t.Parallel()
	if w := espf.Resent.Words(); w != "re-sent" {
		t.Errorf("Resent.Words() = %q, want re-sent", w)
	}
	var o espf.Outcome
	if err := o.UnmarshalText([]byte("retry")); err != nil || o != espf.Resent {
		t.Errorf(`"retry" reads as %q (%v), want resent: results files from earlier versions must still read`, o, err)
	}
}

func TestErrorClass(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = http.Post("http://"+addr+"/", "application/json", nil)
	if got := espf.ErrorClass(err, false); got != espf.ErrRefused {
		t.Errorf("refused connection classed %q (%v)", got, err)
	}
	if got := espf.ErrorClass(context.Canceled, false); got != espf.ErrCanceled {
		t.Errorf("canceled classed %q", got)
	}
	if got := espf.ErrorClass(io.ErrUnexpectedEOF, true); got != espf.ErrTimeout {
		t.Errorf("a passed deadline classed %q, want timeout whatever the error", got)
	}
	if got := espf.ErrorClass(fmt.Errorf("wrapped: %w", io.EOF), false); got != espf.ErrEOF {
		t.Errorf("EOF classed %q", got)
	}
}

// TestClientNeverFollowsRedirects: a 3xx is an answer, so the event is re-sent.
func TestClientNeverFollowsRedirects(t *testing.T) {
	t.Parallel()
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	au, err := sign.New(sign.Config{Scheme: "basic", Users: []string{"pb"}, Passwords: []string{"secret"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	req, err := espf.NewRequest(t.Context(), srv.URL, []byte(`{}`), http.Header{"X-Extra": {"1"}}, au, now)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "TE": "trailers", "Date": "Tue, 01 Dec 2026 10:00:00 GMT", "X-Extra": "1"} {
		if got := req.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if req.Header.Get("Authorization") == "" {
		t.Error("no Authorization header")
	}
	resp, err := espf.NewClient(nil, nil, 0).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || hits != 1 {
		t.Errorf("status %d after %d requests, want the 302 itself, one request", resp.StatusCode, hits)
	}
	if espf.Classify(resp.StatusCode, nil, false) != espf.Resent {
		t.Error("a redirect must be re-sent")
	}
}

// BenchmarkNewRequest measures building one signed ESPF request message
// (headers, Date, Signature), the part send, run and check share.
func BenchmarkNewRequest(b *testing.B) {
	au, err := sign.New(sign.Config{Scheme: "signature", KeyIDs: []string{"test"}, Keys: []string{"signature_key"}, MaxSkew: sign.DefaultMaxSkew})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"event_type":"Subscriber/Created","variables":{"i_account":1000889,"i_event":7615}}`)
	now := time.Now()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := espf.NewRequest(b.Context(), "http://127.0.0.1:8080/espf", body, nil, au, now); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUserAgent: the ESPF's requests name espfctl and its version; -H
// User-Agent overrides it.
func TestUserAgent(t *testing.T) {
	t.Parallel()
	now := time.Now()
	req, err := espf.NewRequest(t.Context(), "http://127.0.0.1/", nil, nil, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if ua := req.Header.Get("User-Agent"); ua != espf.UserAgent || !strings.HasPrefix(ua, "espfctl/") || strings.ContainsAny(ua, " ()") {
		t.Errorf("User-Agent %q, want espfctl/VERSION (one product token)", ua)
	}
	req, err = espf.NewRequest(t.Context(), "http://127.0.0.1/", nil, http.Header{"User-Agent": {"PortaBilling"}}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Values("User-Agent"); len(got) != 1 || got[0] != "PortaBilling" {
		t.Errorf("User-Agent with -H = %q, want the given one only", got)
	}
}

// TestClientSpeaksHTTP1OverTLS: PortaBilling's sender is an HTTP/1.1
// client, so espfctl's is too, even when the server offers HTTP/2;
// HTTP2(true) opts in.
func TestClientSpeaksHTTP1OverTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	tlsCfg := srv.Client().Transport.(*http.Transport).TLSClientConfig
	for _, tt := range []struct {
		opts []espf.ClientOption
		want string
	}{
		{nil, "HTTP/1.1"},
		{[]espf.ClientOption{espf.HTTP2(false)}, "HTTP/1.1"},
		{[]espf.ClientOption{espf.HTTP2(true)}, "HTTP/2.0"},
	} {
		req, err := espf.NewRequest(t.Context(), srv.URL, []byte(`{}`), nil, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := espf.NewClient(nil, tlsCfg, 0, tt.opts...).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Proto"); got != tt.want {
			t.Errorf("options %d: the server saw %s, want %s", len(tt.opts), got, tt.want)
		}
	}
}

// TestClientCarriesLargeMessages: the client's buffers are sized for
// ordinary ESPF messages, so a request body several times larger and an
// answer with 6 KB of headers must still go through whole.
func TestClientCarriesLargeMessages(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 6000)
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		w.Header().Set("X-Large", big)
		fmt.Fprint(w, "OK "+big)
	}))
	defer srv.Close()
	body := []byte(`{"event_type":"Subscriber/Created","variables":{"i_event":1,"note":"` + strings.Repeat("y", 20000) + `"}}`)
	c := espf.NewClient(nil, nil, 4)
	for range 3 { // the same connection, reused after each large answer
		req, err := espf.NewRequest(t.Context(), srv.URL, body, nil, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("X-Large") != big || string(answer) != "OK "+big {
			t.Fatalf("status %d, header of %d bytes, body of %d bytes (%v); want 200 with the whole header and body",
				resp.StatusCode, len(resp.Header.Get("X-Large")), len(answer), err)
		}
		if string(got) != string(body) {
			t.Fatalf("the Application got %d bytes, want the %d sent", len(got), len(body))
		}
	}
}
