package verify_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/verify"
)

// rawApp is an Application that answers every request with answer, as
// written, and then keeps the connection open (an upgraded one) or closes
// it.
func rawApp(t *testing.T, answer string, keepOpen bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				io.WriteString(c, answer)
				if keepOpen {
					<-done // an upgraded connection: it never says more
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/espf"
}

// TestForwardNotFinalIs502: an Application behind --forward-to that
// switches protocols (101), or whose last word is a 1xx, gets the sender a
// 502 (the ESPF re-sends), at once and on a plain HTTP answer, never the
// 1xx; the delivery line and the journal say what the Application did.
func TestForwardNotFinalIs502(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, answer string
		keepOpen     bool
		reason       string
	}{
		{"101 upgrade", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", true, "answered 101"},
		{"1xx then close", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", false, "eof"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			delivered := make(chan verify.Delivery, 1)
			_, srv := startReceiver(t, verify.Config{Forward: &verify.Forward{URL: rawApp(t, tt.answer, tt.keepOpen)},
				OnDelivery: func(d verify.Delivery) { delivered <- d }})
			// The sender's wait is bounded by the test's -timeout only:
			// passed a 101, it would hang on the upgraded connection.
			client := &http.Client{}
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body(1)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("the sender got no answer: %v", err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway || err != nil {
				t.Fatalf("answered %d (%q, %v), want 502", resp.StatusCode, b, err)
			}
			d := <-delivered
			if d.Status != http.StatusBadGateway || !strings.Contains(d.ForwardError+d.Reason, tt.reason) || d.Consequence != "resent" {
				t.Errorf("delivery %+v: want 502, re-sent, saying %q", d, tt.reason)
			}
		})
	}
}
