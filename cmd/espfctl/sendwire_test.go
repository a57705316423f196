package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/testutil"
)

// testCert is a self-signed certificate for 127.0.0.1, and its PEM file.
func testCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, ca
}

// captured is what a raw TLS listener saw on one connection: the protocol
// ALPN settled on, and the first bytes of the request as they came.
type captured struct {
	offered []string // the client's ALPN offer
	alpn    string   // what was negotiated
	raw     []byte
}

// captureTLS is a raw TCP listener with real TLS that offers h2 and
// http/1.1, as a modern server does, records each connection's first
// request byte for byte, and answers HTTP/1.1 requests 200 itself.
func captureTLS(t *testing.T, cert tls.Certificate) (string, func() []captured) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var got []captured
	var wg sync.WaitGroup
	base := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(testutil.Deadline(t)) // a hung connection fails the test at its -timeout, not before
				var offered []string
				cfg := base.Clone()
				cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
					offered = hello.SupportedProtos
					return nil, nil
				}
				tc := tls.Server(c, cfg)
				if err := tc.Handshake(); err != nil {
					return
				}
				br := bufio.NewReader(tc)
				var raw bytes.Buffer
				alpn := tc.ConnectionState().NegotiatedProtocol
				if alpn == "h2" {
					b := make([]byte, 24) // the client connection preface
					n, _ := io.ReadFull(br, b)
					raw.Write(b[:n])
				} else {
					// the request head, byte for byte, then its body
					for {
						line, err := br.ReadBytes('\n')
						raw.Write(line)
						if err != nil || bytes.Equal(line, []byte("\r\n")) {
							break
						}
					}
					req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw.Bytes())))
					if err == nil {
						body := make([]byte, req.ContentLength)
						n, _ := io.ReadFull(br, body)
						raw.Write(body[:n])
						_, _ = io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
					}
				}
				mu.Lock()
				got = append(got, captured{offered: offered, alpn: alpn, raw: raw.Bytes()})
				mu.Unlock()
			}()
		}
	}()
	return ln.Addr().String(), func() []captured {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return append([]captured(nil), got...)
	}
}

// TestSendWireCapture: over TLS, against a server that offers HTTP/2,
// send speaks HTTP/1.1 as PortaBilling's ESPF does, with User-Agent
// espfctl/VERSION; -H overrides the User-Agent; --http2 opts in.
func TestSendWireCapture(t *testing.T) {
	t.Parallel()
	cert, ca := testCert(t)
	for _, tt := range []struct {
		name  string
		extra []string
		code  int
		alpn  string // "": no ALPN at all, HTTP/1.1
		want  []string
		lacks []string
	}{
		// the default body is enriched, as newer releases send (contract §8)
		{"default", nil, exitOK, "", []string{"POST /espf HTTP/1.1\r\n", "\r\nUser-Agent: " + espf.UserAgent + "\r\n",
			"\r\nContent-Type: application/json\r\n", "\r\nTe: trailers\r\n", "\r\nContent-Length: ", "\r\nAuthorization: Signature keyId=\"test\",algorithm=\"hmac-sha1\",signature=\"",
			`{"event_type":"Subscriber/Created","variables":{"event_time":"`, `,"i_env":1,"i_event":1}}`}, nil},
		{"--payload minimal", []string{"--payload", "minimal"}, exitOK, "", []string{`{"event_type":"Subscriber/Created","variables":{"i_account":`, `,"i_event":1}}`},
			[]string{"i_env", "event_time"}},
		{"-H overrides the User-Agent", []string{"-H", "User-Agent: PortaBilling/MR117"}, exitOK, "", []string{"POST /espf HTTP/1.1\r\n", "\r\nUser-Agent: PortaBilling/MR117\r\n"}, nil},
		// this listener speaks no HTTP/2, so the attempt fails; what counts is what the client chose
		{"--http2 opts in", []string{"--http2", "--max-attempts", "1"}, exitError, "h2", []string{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, done := captureTLS(t, cert)
			ios, _, errb := testutil.IO()
			args := sendArgs("https://"+addr+"/espf", append([]string{"--count", "1", "--ca-file", ca}, tt.extra...)...)
			if code := run(t.Context(), args, ios); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errb)
			}
			got := done()
			if len(got) == 0 {
				t.Fatal("no connection captured")
			}
			c := got[0]
			if c.alpn != tt.alpn {
				t.Errorf("ALPN chose %q (the client offered %q), want %q", c.alpn, c.offered, tt.alpn)
			}
			if offersH2 := strings.Contains(strings.Join(c.offered, ","), "h2"); offersH2 != (tt.alpn == "h2") {
				t.Errorf("the client offered %q", c.offered)
			}
			for _, w := range tt.want {
				if !bytes.Contains(c.raw, []byte(w)) {
					t.Errorf("the request lacks %q; captured:\n%s", w, c.raw)
				}
			}
			for _, l := range tt.lacks {
				if bytes.Contains(c.raw, []byte(l)) {
					t.Errorf("the request has %q; captured:\n%s", l, c.raw)
				}
			}
			if strings.Contains(string(c.raw), "Go-http-client") {
				t.Errorf("Go's default User-Agent went out:\n%s", c.raw)
			}
		})
	}
}
