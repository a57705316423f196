package verify

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// CutShort makes rc answer 200 early, for the load test's variants:
// after "body" (the header checks and the body read only) or after
// "checks" (every check and the decoding, but no journal).
func CutShort(rc *Receiver, after string) {
	rc.cut = map[string]cutPoint{"body": cutAfterBody, "checks": cutAfterChecks}[after]
}

// ServeIdle is Serve with a LimitListener of max connections and keep-alive
// connections idle up to idle: tests hold them longer than Serve's 60 s, so
// that only the limit's own handling of idle connections can free a slot.
func ServeIdle(ctx context.Context, ln net.Listener, max int, h http.Handler, idle time.Duration) error {
	return serveDeliveries(ctx, NewLimitListener(ln, max), h, time.Second, idle)
}

// ServeAdminIdle is ServeAdmin with keep-alive connections idle up to idle.
func ServeAdminIdle(ctx context.Context, ln net.Listener, h http.Handler, idle time.Duration) error {
	return serveAdmin(ctx, ln, h, idle)
}

// ServeIdleTLS is ServeIdle over HTTPS with cert, the limit under the TLS
// listener as serve puts them.
func ServeIdleTLS(ctx context.Context, ln net.Listener, max int, h http.Handler, idle time.Duration, cert tls.Certificate) error {
	return serveDeliveries(ctx, TLSListener(NewLimitListener(ln, max), cert), h, time.Second, idle)
}
