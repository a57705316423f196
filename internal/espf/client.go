package espf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
)

// ClientOption adjusts the client NewClient builds.
type ClientOption func(*clientOptions)

type clientOptions struct{ http2 bool }

// HTTP2 lets the client negotiate HTTP/2 over TLS when on is true. The ESPF
// is an HTTP/1.1 client, so NewClient speaks HTTP/1.1 unless asked.
func HTTP2(on bool) ClientOption { return func(o *clientOptions) { o.http2 = on } }

// NewClient returns the HTTP client the ESPF would use: HTTP/1.1, over TLS
// too (PortaBilling's sender does not speak HTTP/2; HTTP2(true) opts in); it
// never follows a redirect (a 3xx is an answer like any other, so the event
// is re-sent) and asks for no compression. base, when given, supplies the
// transport and timeouts (and its protocols); otherwise a transport with
// tlsCfg keeps up to idle connections (0 = net/http's default).
func NewClient(base *http.Client, tlsCfg *tls.Config, idle int, opts ...ClientOption) *http.Client {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if base != nil {
		c := *base
		c.CheckRedirect = noRedirect
		return &c
	}
	var o clientOptions
	for _, opt := range opts {
		opt(&o)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	if idle > 0 {
		tr.MaxIdleConns = idle // one connection per worker, kept: closing extras makes a dial storm
		tr.MaxIdleConnsPerHost = idle
	}
	tr.DisableCompression = true
	// Buffers sized for the ESPF's messages: a signed request is under
	// 2 KiB and an Application's answer a few hundred bytes. Larger ones
	// still go through, in more than one read or write. Every connection
	// keeps its buffers for its life, and a stalled Application holds up
	// to max_in_flight of them: net/http's 4 KiB each cost 5 KiB more per
	// connection (BENCHMARKS.md, issue 14).
	tr.WriteBufferSize, tr.ReadBufferSize = clientWriteBuffer, clientReadBuffer
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	if o.http2 {
		protocols.SetHTTP2(true)
		tr.ForceAttemptHTTP2 = true
	} else {
		tr.ForceAttemptHTTP2 = false
	}
	tr.Protocols = protocols
	return &http.Client{Transport: tr, CheckRedirect: noRedirect}
}

const (
	clientWriteBuffer = 2 << 10
	clientReadBuffer  = 1 << 10
)

// TLS is the client side of HTTPS to the Application: the target flags
// (--ca-file, --cert, --cert-key, --insecure-skip-verify) and a scenario's
// target.tls fill it in.
type TLS struct {
	CAFile             string // trust this PEM CA besides the system's
	CertFile, KeyFile  string // a client certificate, for mutual TLS
	InsecureSkipVerify bool   // do not check the Application's certificate
}

// Config builds the tls.Config, or nil when nothing is set (the defaults).
func (t TLS) Config() (*tls.Config, error) {
	if t == (TLS{}) {
		return nil, nil
	}
	c := &tls.Config{InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // the user asked, and is warned
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate found", t.CAFile)
		}
		c.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("a client certificate needs both its certificate and its key file")
	}
	if t.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}
