package check_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/sign"
)

// certFor is a self-signed certificate for hosts, valid from notBefore to
// notAfter, and a pool that trusts it.
func certFor(t *testing.T, hosts []string, notBefore, notAfter time.Time) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "wrong app"},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// serveTLS serves h over TLS with srvCfg on 127.0.0.1:0.
func serveTLS(t *testing.T, h http.Handler, srvCfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, TLSConfig: srvCfg, ErrorLog: log.New(io.Discard, "", 0)} // handshake errors are the point
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return "https://" + ln.Addr().String() + "/espf"
}

// TestWrongCertificates: a certificate for another host, or expired,
// fails 1/tls-certificate with its x509 reason, and only that case, when
// the run itself does not verify (--insecure-skip-verify).
func TestWrongCertificates(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tt := range []struct {
		name       string
		hosts      []string
		from, till time.Time
		reason     string
	}{
		{"for another host", []string{"10.9.8.7", "app.example"}, now.Add(-time.Hour), now.Add(time.Hour), "x509: certificate is valid for 10.9.8.7, not 127.0.0.1"},
		{"expired", []string{"127.0.0.1"}, now.Add(-48 * time.Hour), now.Add(-24 * time.Hour), "x509: certificate has expired or is not yet valid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := vectors[sign.SchemeBasic]
			cert, pool := certFor(t, tt.hosts, tt.from, tt.till)
			url := serveTLS(t, receiver(t, &c), &tls.Config{Certificates: []tls.Certificate{cert}})
			rs, err := check.Run(t.Context(), check.Config{URL: url, Creds: c, Soak: 0,
				TLS: &tls.Config{RootCAs: pool, InsecureSkipVerify: true}, Select: []string{"1", "2/exact-200"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := graded(rs, check.Fail); len(got) != 1 || got[0] != "1/tls-certificate" {
				t.Fatalf("failed %q, want only 1/tls-certificate", got)
			}
			if r := byID(rs)["1/tls-certificate"]; !strings.Contains(r.Consequence, tt.reason) {
				t.Errorf("1/tls-certificate: %q, want the reason %q", r.Consequence, tt.reason)
			}
			// verifying, as the ESPF does: nothing gets through
			_, err = check.Run(t.Context(), check.Config{URL: url, Creds: c, TLS: &tls.Config{RootCAs: pool}, Select: []string{"2/exact-200"}})
			if !errors.Is(err, check.ErrUnreachable) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("verifying run: %v, want unreachable with %q", err, tt.reason)
			}
		})
	}
}

// TestOldTLS: a server that speaks TLS 1.1 at most fails 1/tls-version,
// and the ESPF's client (TLS 1.2 or newer) cannot connect at all.
func TestOldTLS(t *testing.T) {
	t.Parallel()
	c := vectors[sign.SchemeBasic]
	cert, pool := certFor(t, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	url := serveTLS(t, receiver(t, &c), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	rs, err := check.Run(t.Context(), check.Config{URL: url, Creds: c, TLS: &tls.Config{RootCAs: pool}, Select: []string{"1/tls-", "2/exact-200"}})
	if !errors.Is(err, check.ErrUnreachable) {
		t.Fatalf("err = %v, want unreachable", err)
	}
	m := byID(rs)
	if v := m["1/tls-version"]; v.Grade != check.Fail || v.Answer != "TLS 1.1" || !strings.Contains(v.Consequence, "below TLS 1.2") {
		t.Errorf("1/tls-version: %s %q %q, want a failure naming TLS 1.1", v.Grade, v.Answer, v.Consequence)
	}
	if v := m["1/tls-certificate"]; v.Grade != check.Fail || !strings.Contains(v.Consequence, "protocol version") {
		t.Errorf("1/tls-certificate: %s %q, want the handshake's reason", v.Grade, v.Consequence)
	}
}
