package check

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
)

// transportCases look at how the ESPF reaches the Application: they send
// no event (a TLS handshake at most).
func transportCases() []Case {
	return []Case{
		{ID: "1/https", Section: "1",
			Sends:     "nothing: looks at the URL's scheme",
			Passes:    "https:// (plain http:// warns; to a loopback address it is skipped: nothing crosses a network)",
			Why:       "the contract recommends HTTPS: over plain HTTP the credentials and every event cross the network readable by anyone on the path",
			transport: true,
			run: func(_ context.Context, r *runner) (verdict, error) {
				r.cur.Answer = "-"
				u, _ := url.Parse(r.cfg.URL)
				switch {
				case u.Scheme == "https":
					return verdict{grade: Pass, msg: "HTTPS"}, nil
				case loopback(u.Hostname()):
					return verdict{grade: Skip, msg: "plain http:// to a loopback address: nothing crosses a network here (the same Application over a network needs https://)"}, nil
				}
				return verdict{grade: Warn, msg: "plain http://: the credentials and every event cross the network in clear; the contract recommends HTTPS"}, nil
			}},
		{ID: "1/tls-version", Section: "1",
			Sends:  "a TLS handshake offering TLS 1.0 to 1.3 (https only)",
			Passes: "the server picks TLS 1.2 or newer",
			Why:    "TLS 1.0 and 1.1 are broken and refused by current clients: an ESPF host that enforces 1.2 cannot connect, and every event is re-sent until it can",
			run:    tlsVersion, transport: true},
		{ID: "1/tls-certificate", Section: "1",
			Sends:  "a TLS handshake that verifies the certificate (https only; done even with --insecure-skip-verify)",
			Passes: "a certificate that is valid now, for the URL's host, from a trusted issuer (the system's, or --ca-file)",
			Why:    "the ESPF refuses a certificate it cannot verify: no event is delivered, every one is re-sent until the certificate is fixed",
			run:    tlsCertificate, transport: true},
	}
}

// loopback reports whether host names this machine's loopback interface:
// localhost, 127.0.0.0/8 or ::1.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// handshake dials the URL's host and runs a TLS handshake with c.
func (r *runner) handshake(ctx context.Context, c *tls.Config) (tls.ConnectionState, error) {
	u, err := url.Parse(r.cfg.URL)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "443"
	}
	c.ServerName = host
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: c}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState(), nil
}

// clientTLS is the configured client TLS (trust, client certificate), or
// the system defaults.
func (r *runner) clientTLS() *tls.Config {
	if r.cfg.TLS != nil {
		return r.cfg.TLS.Clone()
	}
	return &tls.Config{}
}

func notHTTPS(r *runner) (verdict, bool) {
	if u, _ := url.Parse(r.cfg.URL); u.Scheme != "https" {
		r.cur.Answer = "-"
		return verdict{grade: Skip, msg: "plain http://: no TLS to look at"}, true
	}
	return verdict{}, false
}

func tlsVersion(ctx context.Context, r *runner) (verdict, error) {
	if v, skip := notHTTPS(r); skip {
		return v, nil
	}
	c := r.clientTLS()
	c.InsecureSkipVerify = true //nolint:gosec // only the version is looked at here; 1/tls-certificate verifies
	c.MinVersion = tls.VersionTLS10
	st, err := r.handshake(ctx, c)
	if err != nil {
		return r.handshakeFailed(ctx, err), nil
	}
	r.cur.Answer = tls.VersionName(st.Version)
	if st.Version < tls.VersionTLS12 {
		return verdict{grade: Fail, msg: fmt.Sprintf("the server picked %s, below TLS 1.2: current TLS clients refuse it, so the ESPF may not connect at all and re-sends every event", tls.VersionName(st.Version))}, nil
	}
	return verdict{grade: Pass, msg: tls.VersionName(st.Version) + " (" + tls.CipherSuiteName(st.CipherSuite) + ")"}, nil
}

func tlsCertificate(ctx context.Context, r *runner) (verdict, error) {
	if v, skip := notHTTPS(r); skip {
		return v, nil
	}
	c := r.clientTLS()
	c.InsecureSkipVerify = false
	st, err := r.handshake(ctx, c)
	if err != nil {
		return r.handshakeFailed(ctx, err), nil
	}
	leaf := st.PeerCertificates[0]
	r.cur.Answer = "valid"
	return verdict{grade: Pass, msg: fmt.Sprintf("valid for %s until %s, issued by %s", c.ServerName,
		leaf.NotAfter.UTC().Format(time.DateOnly), leaf.Issuer.String())}, nil
}

// handshakeFailed explains a failed handshake with its x509 or TLS reason.
func (r *runner) handshakeFailed(ctx context.Context, err error) verdict {
	class := espf.ErrorClass(err, ctx.Err() == nil && isTimeout(err))
	r.cur.Answer, r.cur.Error = class, class
	why := tlsReason(err)
	if why == "" {
		why = class
	}
	return verdict{grade: Fail, msg: "handshake failed: " + why + ": the ESPF cannot connect, so every event is re-sent until this is fixed"}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
