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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- verify.Serve(ctx, verify.TLSListener(ln, cert), rc, time.Second) }()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || verify.Fingerprint(resp.TLS.PeerCertificates[0].Raw) != fp {
		t.Errorf("status %d, fingerprint of the served certificate differs from %s", resp.StatusCode, fp)
	}
	client.CloseIdleConnections()
	stop()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
