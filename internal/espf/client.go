package espf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
)

// NewClient returns the HTTP client the ESPF would use: it never follows a
// redirect (a 3xx is an answer like any other, so the event is re-sent) and
// asks for no compression. base, when given, supplies the transport and
// timeouts; otherwise a transport with tlsCfg keeps up to idle connections
// (0 = net/http's default).
func NewClient(base *http.Client, tlsCfg *tls.Config, idle int) *http.Client {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if base != nil {
		c := *base
		c.CheckRedirect = noRedirect
		return &c
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	if idle > 0 {
		tr.MaxIdleConns = idle // one connection per worker, kept: closing extras makes a dial storm
		tr.MaxIdleConnsPerHost = idle
	}
	tr.DisableCompression = true
	return &http.Client{Transport: tr, CheckRedirect: noRedirect}
}

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
