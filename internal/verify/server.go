package verify

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/espfctl/espfctl/internal/listen"
)

// DefaultGrace is how long Serve waits for in-flight deliveries on shutdown.
const DefaultGrace = 10 * time.Second

// DefaultMaxConns caps the delivery connections open at once (serve
// --max-conns). The ESPF sends about 10 requests a second; the cap bounds
// what slow or idle clients can hold (each connection costs some tens of
// KB), and connections past it wait for a free slot.
const DefaultMaxConns = 512

// adminMaxConns caps the admin listener's connections.
const adminMaxConns = 64

// Serve serves h on ln until ctx is done, then stops accepting, lets
// in-flight requests finish (up to grace) and returns nil. Requests see
// their context cancelled when shutdown starts, so a hanging fault lets go.
// Timeouts keep a slow client from holding a connection.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration) error {
	return serveDeliveries(ctx, ln, h, grace, idleTimeout)
}

// idleTimeout is how long a keep-alive connection may wait for its next
// request, on either listener (a LimitListener closes it sooner when its
// slot is needed).
const idleTimeout = 60 * time.Second

func serveDeliveries(ctx context.Context, ln net.Listener, h http.Handler, grace, idle time.Duration) error {
	return serve(ctx, ln, &http.Server{Handler: h,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 6 * time.Minute, // above the ESPF's 300 s answer timeout, so --delay can exceed it
		IdleTimeout:  idle, MaxHeaderBytes: 64 << 10,
	}, grace)
}

// ServeAdmin serves the admin handler (Receiver.Admin) on ln until ctx is
// done, with at most adminMaxConns connections. A reader of /events gets
// adminWriteWindow for each chunk; other answers must be written in 60 s.
//
// A reader that stopped reading (a stuck browser tab, a stalled /events)
// can hold its connection past the second of grace that shutdown gives:
// it is closed then, and that is no error, since the admin listener only
// answers reads and nothing is lost (serve still exits 0).
func ServeAdmin(ctx context.Context, ln net.Listener, h http.Handler) error {
	return serveAdmin(ctx, ln, h, idleTimeout)
}

func serveAdmin(ctx context.Context, ln net.Listener, h http.Handler, idle time.Duration) error {
	err := serve(ctx, NewLimitListener(ln, adminMaxConns), &http.Server{Handler: h,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: idle, MaxHeaderBytes: 16 << 10,
	}, time.Second)
	if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

func serve(ctx context.Context, ln net.Listener, srv *http.Server, grace time.Duration) error {
	if grace <= 0 {
		grace = DefaultGrace
	}
	base, stopBase := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBase()
	srv.BaseContext = func(net.Listener) context.Context { return base }
	closeFresh := trackFresh(srv)
	srv.RegisterOnShutdown(closeFresh)
	if cs, ok := ln.(connStater); ok { // a LimitListener: it closes idle connections to make room
		fresh := srv.ConnState
		srv.ConnState = func(c net.Conn, st http.ConnState) { fresh(c, st); cs.ConnState(c, st) }
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stopBase()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// trackFresh follows srv's connections that have not sent a byte yet and
// returns what closes them. Shutdown closes idle keep-alive connections at
// once but waits 5 s for a fresh one (a client's transport may dial one
// and use another), longer than a short grace: such a connection carries
// no request, so closing it at shutdown loses nothing, exactly as closing
// an idle one does.
func trackFresh(srv *http.Server) func() {
	var mu sync.Mutex
	fresh := map[net.Conn]struct{}{}
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateIdle {
			return // a connection is idle only after a request: never fresh
		}
		mu.Lock()
		defer mu.Unlock()
		if st == http.StateNew {
			fresh[c] = struct{}{}
		} else {
			delete(fresh, c)
		}
	}
	return func() {
		mu.Lock()
		defer mu.Unlock()
		for c := range fresh {
			c.Close()
		}
	}
}

// SelfSigned makes an in-memory ECDSA P-256 certificate for 127.0.0.1, ::1
// and localhost, signed by a CA made for the run, valid for a week from
// now, and returns its SHA-256 fingerprint (hex, colon-separated) for the
// user to pin. serve --ca-out writes that CA (listen.SelfSigned).
func SelfSigned(now time.Time) (tls.Certificate, string, error) {
	cert, _, err := listen.SelfSigned(now, "espfctl serve", "")
	if err != nil {
		return tls.Certificate{}, "", err
	}
	return cert, Fingerprint(cert.Certificate[0]), nil
}

// Fingerprint is the SHA-256 of a DER certificate as colon-separated hex.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	parts := make([]string, 0, len(sum))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// TLSListener wraps ln so that it serves HTTPS with cert (HTTP/1.1, TLS 1.2+).
// A LimitListener under it still learns which connections are idle.
func TLSListener(ln net.Listener, cert tls.Certificate) net.Listener {
	tl := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert},
		MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
	if cs, ok := ln.(connStater); ok {
		return &tlsListener{Listener: tl, inner: cs}
	}
	return tl
}

type tlsListener struct {
	net.Listener
	inner connStater
}

func (l *tlsListener) ConnState(c net.Conn, st http.ConnState) { l.inner.ConnState(c, st) }
