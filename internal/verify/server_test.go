package verify_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/verify"
)

// TestSelfSignedTLS: a client that pins the printed fingerprint (here: trusts
// the certificate) reaches the receiver over HTTPS on 127.0.0.1.
func TestSelfSignedTLS(t *testing.T) {
	cert, fp, err := verify.SelfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := verify.NewReceiver(verify.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	addr, stop := serveOn(t, rc.Admin(), func(ln net.Listener) net.Listener { return verify.TLSListener(ln, cert) })
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || verify.Fingerprint(resp.TLS.PeerCertificates[0].Raw) != fp {
		t.Errorf("status %d, fingerprint of the served certificate differs from %s", resp.StatusCode, fp)
	}
	client.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// serveOn runs h with Serve on a free 127.0.0.1 port, the listener wrapped
// by wrap when it is not nil; stop begins the shutdown and returns what
// Serve returned.
func serveOn(t *testing.T, h http.Handler, wrap func(net.Listener) net.Listener) (addr string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- verify.Serve(ctx, ln, h, time.Minute) }()
	return addr, func() error { cancel(); return <-served }
}

// TestServeAdminStuckReader: a reader of the admin listener that never
// reads holds a handler blocked in its write; stopping the admin listener
// closes that connection after the grace and is no error (serve exits 0).
func TestServeAdminStuckReader(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	writing := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Now().Add(time.Minute)) // as /events and the inspector's stream do
		chunk := make([]byte, 64<<10)
		once := false
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			if !once {
				once = true
				close(writing)
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- verify.ServeAdmin(ctx, ln, h) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := conn.Write([]byte("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	<-writing // the handler is writing into a connection nobody reads
	cancel()
	if err := <-done; err != nil { // only the test's -timeout bounds the wait
		t.Errorf("ServeAdmin with a stuck reader = %v, want nil", err)
	}
}

// TestServeFreshConnectionAtShutdown: a connection that sent no byte yet
// (a transport dials one and uses another) is closed at shutdown like an
// idle one; net/http alone would wait 5 s for it, past a short grace, and
// the stop would end in an error.
func TestServeFreshConnectionAtShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := verify.NewReceiver(verify.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- verify.Serve(ctx, ln, rc, 500*time.Millisecond) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A delivery on another connection makes sure the server runs and has
	// accepted the fresh one (connections are accepted in order).
	resp, err := http.Post("http://"+ln.Addr().String()+"/", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve with a fresh connection open = %v, want nil", err)
	}
	if _, err := conn.Read(make([]byte, 1)); err == nil { // only the test's -timeout bounds the wait
		t.Error("the fresh connection is still open after the stop")
	}
}
