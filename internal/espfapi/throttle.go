package espfapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Failed logins (Session/login, or auth_info with a login) from one
// address are let through freeFailures times; each one after that locks
// the address out for a while, doubling from firstLockout up to
// maxLockout. While it is locked out every login from it is refused, the
// right one too, so a guesser learns nothing; a login that succeeds
// forgets the address's failures. At most maxAddresses addresses are
// remembered.
const (
	freeFailures = 5
	firstLockout = time.Second
	maxLockout   = time.Minute
	maxAddresses = 4096
	forgetAfter  = 10 * time.Minute // an address whose last failure is older starts afresh
)

// throttle is the failed-login state by address.
type throttle struct {
	mu sync.Mutex
	by map[string]*failures
}

type failures struct {
	n     int       // failed logins in a row
	last  time.Time // the latest
	until time.Time // locked out until
}

// wait is how long addr is still locked out at now (0: not).
func (t *throttle) wait(addr string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.by[addr]; f != nil && now.Before(f.until) {
		return f.until.Sub(now)
	}
	return 0
}

// failed records a failed login from addr at now and returns the lockout
// it starts (0: none yet).
func (t *throttle) failed(addr string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.by == nil {
		t.by = map[string]*failures{}
	}
	f := t.by[addr]
	if f != nil && now.Sub(f.last) > forgetAfter {
		f = nil
	}
	if f == nil {
		t.makeRoom(now)
		f = &failures{}
		t.by[addr] = f
	}
	f.n++
	f.last = now
	if f.n <= freeFailures {
		return 0
	}
	d := maxLockout
	if shift := f.n - freeFailures - 1; shift < 6 {
		d = min(firstLockout<<shift, maxLockout)
	}
	f.until = now.Add(d)
	return d
}

// ok forgets addr's failures after a login that succeeded.
func (t *throttle) ok(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.by, addr)
}

// makeRoom keeps at most maxAddresses: the forgotten ones go first, then
// any one.
func (t *throttle) makeRoom(now time.Time) {
	if len(t.by) < maxAddresses {
		return
	}
	for a, f := range t.by {
		if now.Sub(f.last) > forgetAfter && !now.Before(f.until) {
			delete(t.by, a)
		}
	}
	for a := range t.by {
		if len(t.by) < maxAddresses {
			break
		}
		delete(t.by, a)
	}
}

// remoteHost is the address a call came from, without its port.
func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// loginRefused is the fault for a login from an address locked out for d.
func loginRefused(addr string, d time.Duration) *Fault {
	f := fault(FaultLoginFailed, "too many failed logins from %s: logins from it are refused for %s more", addr, roundUp(d))
	f.retry = d
	return f
}

// loginFailed is the fault for a wrong login, saying when it starts a
// lockout of d.
func loginFailed(what, addr string, d time.Duration) *Fault {
	f := fault(FaultLoginFailed, "%s", what)
	if d > 0 {
		f.String += fmt.Sprintf("; too many failed logins from %s: logins from it are refused for %s", addr, roundUp(d))
		f.retry = d
	}
	return f
}

// checkCaller applies the throttle around checkLogin for a call from r.
func (m *Mock) checkCaller(r *http.Request, login, password, token, what string) *Fault {
	addr, now := remoteHost(r), m.cfg.Now()
	if d := m.thr.wait(addr, now); d > 0 {
		return loginRefused(addr, d)
	}
	if !m.checkLogin(login, password, token) {
		return loginFailed(what, addr, m.thr.failed(addr, now))
	}
	m.thr.ok(addr)
	return nil
}

func roundUp(d time.Duration) time.Duration {
	if r := d.Round(time.Second); r >= d {
		return r
	}
	return d.Round(time.Second) + time.Second
}

// ErrOpenBeyondLoopback is CheckListen's error for a mock without
// credentials on an address other machines can reach.
var ErrOpenBeyondLoopback = errors.New("the API mock has no credentials, so it listens on a loopback address only " +
	"(127.0.0.1, [::1], localhost): give a token, or a login and password, to listen on another")

// CheckListen refuses to serve a mock that accepts any caller (cfg has no
// credentials) on listen, when listen is not a loopback address.
func CheckListen(listen string, cfg Config) error {
	if cfg.Token != "" || cfg.Login != "" || cfg.Password != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("%q: want HOST:PORT, e.g. 127.0.0.1:8181", listen)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s: %w", listen, ErrOpenBeyondLoopback)
}
