package listen

import (
	"net"
	"sync"
)

// tlsHandshake is the first byte of a TLS record carrying a handshake (a
// ClientHello): what a client that speaks https sends first.
const tlsHandshake = 0x16

// TLSOnPlain wraps a plain-http listener so that a client that starts a
// TLS handshake on it (its URL says https://) is named: seen is called
// with the client's address, once for each such connection. The
// connection itself is served as before (the HTTP server answers 400 to
// the bytes it cannot read, and the client fails its handshake).
func TLSOnPlain(ln net.Listener, seen func(remote string)) net.Listener {
	return &sniffListener{Listener: ln, seen: seen}
}

type sniffListener struct {
	net.Listener
	seen func(string)
}

func (l *sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, seen: l.seen}, nil
}

type sniffConn struct {
	net.Conn
	once sync.Once
	seen func(string)
}

func (c *sniffConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.once.Do(func() {
			if p[0] == tlsHandshake {
				c.seen(c.RemoteAddr().String())
			}
		})
	}
	return n, err
}
