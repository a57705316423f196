package verify_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/inspect"
	"github.com/espfctl/espfctl/internal/verify"
)

// runServer runs serveFn on a loopback listener until the test ends and
// returns its address.
func runServer(t *testing.T, serveFn func(ctx context.Context, ln net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveFn(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestIdleConnectionsMakeRoom: a receiver whose every connection slot is
// held by an idle keep-alive connection (each delivered one event and went
// quiet, as a sender's pool does after a burst) still answers a new
// sender at once: the connection idle longest is closed to make room. The
// idle connections are kept for an hour here, so nothing but the limit's
// handling of idle connections can free a slot before the test's -timeout.
func TestIdleConnectionsMakeRoom(t *testing.T) {
	t.Parallel()
	t.Run("http", func(t *testing.T) { t.Parallel(); idleMakeRoom(t, false) })
	t.Run("https", func(t *testing.T) { t.Parallel(); idleMakeRoom(t, true) })
}

func idleMakeRoom(t *testing.T, https bool) {
	rc, err := verify.NewReceiver(verify.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	const max = 4
	cert, _, err := verify.SelfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	addr := runServer(t, func(ctx context.Context, ln net.Listener) error {
		if https {
			return verify.ServeIdleTLS(ctx, ln, max, rc, time.Hour, cert)
		}
		return verify.ServeIdle(ctx, ln, max, rc, time.Hour)
	})
	url := "http://" + addr + "/"
	if https {
		url = "https://" + addr + "/"
	}
	for i := range max + 3 { // more senders than slots, one after the other, each keeping its connection
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // the test's own self-signed certificate
		t.Cleanup(tr.CloseIdleConnections)
		c := &http.Client{Transport: tr} // no timeout: only the test's -timeout bounds a hung sender
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body(int64(i+1))))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("sender %d: %v", i+1, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("sender %d: answered %d", i+1, resp.StatusCode)
		}
	}
}

// TestStalledStreamsLeaveAdminAnswering: 100 live lists (/ui/stream) whose
// readers never read do not take the admin listener's connections from
// /healthz and the inspector's page: the live lists have their own bound,
// and those refused past it do not keep a connection.
func TestStalledStreamsLeaveAdminAnswering(t *testing.T) {
	t.Parallel()
	rc, err := verify.NewReceiver(verify.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	ui, err := inspect.New(inspect.Config{Receiver: rc, URL: "http://127.0.0.1:1/"})
	if err != nil {
		t.Fatal(err)
	}
	h := inspect.Mount(ui, rc.Admin())
	addr := runServer(t, func(ctx context.Context, ln net.Listener) error {
		return verify.ServeAdminIdle(ctx, ln, h, time.Hour)
	})
	for range 100 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET /ui/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		// never read: a stalled browser tab
	}
	client := &http.Client{} // no timeout: only the test's -timeout bounds the wait
	for _, path := range []string{"/healthz", "/ui/", "/healthz"} {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s with 100 stalled live lists: %d %q, want 200", path, resp.StatusCode, b)
		}
	}
}
