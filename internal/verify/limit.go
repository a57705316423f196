package verify

import (
	"container/list"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// connStater is a listener that wants to know its connections' states
// (http.Server.ConnState): serve hands them on.
type connStater interface {
	ConnState(net.Conn, http.ConnState)
}

// LimitListener accepts at most max connections open at once. An idle
// keep-alive connection (one that finished a request and waits for the
// next) does not hold a slot that a new connection needs: when every slot
// is taken, Accept closes the connection that has been idle longest and
// takes its slot. Only when every connection is busy (a request under way,
// or one not yet sent on a fresh connection) does Accept wait for one to
// close; the next connection waits in the kernel's backlog meanwhile,
// costing serve nothing.
//
// It learns which connections are idle from the server's ConnState
// (serve wires it; TLSListener passes it on). A sender's pool keeps its
// hottest connections busy and lets the others idle, so the connection
// closed is one it does not use; one that it picks up again in that
// instant sees its request fail and sends it again, as after any server's
// idle timeout.
type LimitListener struct {
	net.Listener
	max     int
	mu      sync.Mutex
	open    int
	idle    list.List     // *limitedConn, idle longest first
	wake    chan struct{} // a slot freed or a connection went idle
	done    chan struct{}
	once    sync.Once
	waited  atomic.Int64
	evicted atomic.Int64
}

// NewLimitListener wraps ln; max <= 0 means DefaultMaxConns.
func NewLimitListener(ln net.Listener, max int) *LimitListener {
	if max <= 0 {
		max = DefaultMaxConns
	}
	return &LimitListener{Listener: ln, max: max, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Accept takes a free slot, else the slot of the connection idle longest
// (closing it), else waits for one; then it accepts a connection.
func (l *LimitListener) Accept() (net.Conn, error) {
	counted := false
	for {
		l.mu.Lock()
		if l.open < l.max {
			l.open++
			l.mu.Unlock()
			break
		}
		if e := l.idle.Front(); e != nil {
			c := l.idle.Remove(e).(*limitedConn)
			c.elem = nil
			l.mu.Unlock()
			l.evicted.Add(1)
			c.Close() // frees its slot
			continue
		}
		l.mu.Unlock()
		if !counted {
			counted = true
			l.waited.Add(1)
		}
		select {
		case <-l.wake:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		l.release(nil)
		return nil, err
	}
	return &limitedConn{Conn: c, l: l}, nil
}

// ConnState follows the server's connections: an idle one may be closed
// to make room, any other state makes it busy again.
func (l *LimitListener) ConnState(nc net.Conn, st http.ConnState) {
	if u, ok := nc.(interface{ NetConn() net.Conn }); ok { // *tls.Conn
		nc = u.NetConn()
	}
	c, ok := nc.(*limitedConn)
	if !ok || c.l != l {
		return
	}
	l.mu.Lock()
	if c.elem != nil {
		l.idle.Remove(c.elem)
		c.elem = nil
	}
	if st == http.StateIdle && !c.closed {
		c.elem = l.idle.PushBack(c)
	}
	l.mu.Unlock()
	if st == http.StateIdle {
		l.signal()
	}
}

// release frees c's slot (c nil: a slot taken for an Accept that failed).
func (l *LimitListener) release(c *limitedConn) {
	l.mu.Lock()
	l.open--
	if c != nil {
		c.closed = true
		if c.elem != nil {
			l.idle.Remove(c.elem)
			c.elem = nil
		}
	}
	l.mu.Unlock()
	l.signal()
}

func (l *LimitListener) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Close closes the listener and lets a waiting Accept return.
func (l *LimitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// Open is the number of connections open now.
func (l *LimitListener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Idle is the number of open connections that are idle (between requests).
func (l *LimitListener) Idle() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.idle.Len()
}

// Max is the cap.
func (l *LimitListener) Max() int { return l.max }

// Waited counts the connections that found every slot busy.
func (l *LimitListener) Waited() int64 { return l.waited.Load() }

// Evicted counts the idle connections closed to make room for new ones.
func (l *LimitListener) Evicted() int64 { return l.evicted.Load() }

type limitedConn struct {
	net.Conn
	l      *LimitListener
	once   sync.Once
	elem   *list.Element // in l.idle while idle; guarded by l.mu
	closed bool          // guarded by l.mu
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}
