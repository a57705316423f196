package check

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sign"
)

// runner sends the cases' requests and counts who answered.
type runner struct {
	cfg    Config
	client *http.Client
	scheme string
	creds  *creds
	cur    *Result // the case being run

	mu       sync.Mutex
	next     int64 // the next unused i_event (and entity id)
	answered int   // requests that got an HTTP answer (or timed out on an open connection)
	failed   int   // requests that could not connect
	lastErr  string
	dead     string // the case after which the Application stopped answering
	valid    *reply // the last answer to a valid event (a Subscriber/Created, right credentials)
}

func newRunner(cfg Config) (*runner, error) {
	cr, err := newCreds(cfg.Creds)
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	return &runner{cfg: cfg, client: espf.NewClient(cfg.Client, cfg.TLS, 0, espf.HTTP2(cfg.HTTP2)), scheme: cr.scheme,
		creds: cr, next: cfg.FirstEvent}, nil
}

// ids hands out n consecutive unused numbers, for i_event and entity ids.
func (r *runner) ids(n int) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.next
	r.next += int64(n)
	return id
}

// dateMode says which Date a request carries.
type dateMode int

const (
	dateNow   dateMode = iota // the time of sending, as the ESPF does
	dateFixed                 // shot.at
	dateNone                  // no Date header
)

// shot is one request to send: a body and how to write its headers.
type shot struct {
	ievent int64
	body   []byte
	pad    int // the body has pad bytes of 'x' at padAt (reproducers write them with head -c)
	padAt  int
	date   dateMode
	at     time.Time
	cred   *credential   // nil = no credentials header
	valid  bool          // a correct Subscriber/Created: its answer is the baseline of liveness probes
	pause  time.Duration // the headers go at once, the body after this pause
}

// send makes one attempt. Only a failure to build the request, or ctx
// ending, is an error; transport failures are replies.
func (r *runner) send(ctx context.Context, s shot) (reply, error) {
	tctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	now := r.cfg.Now()
	at := now
	if s.date == dateFixed {
		at = s.at
	}
	date := at.UTC().Format(http.TimeFormat)
	if s.date == dateNone {
		date = ""
	}
	var signer sign.Signer
	if s.cred != nil {
		value, err := s.cred.value(date, now)
		if err != nil {
			return reply{}, err
		}
		signer = headerSigner{name: r.creds.header, value: value}
	}
	req, err := espf.NewRequest(tctx, r.cfg.URL, s.body, r.cfg.Headers, signer, at)
	if err != nil {
		return reply{}, err
	}
	if s.date == dateNone {
		req.Header.Del("Date")
	}
	var body *pausedBody
	if s.pause > 0 {
		body = &pausedBody{ctx: tctx, pause: s.pause, rest: bytes.NewReader(s.body)}
		req.Body, req.GetBody, req.ContentLength = body, nil, int64(len(s.body))
	}
	if r.cur != nil {
		r.mu.Lock()
		r.cur.Requests++
		r.mu.Unlock()
	}
	start := time.Now()
	do := r.client.Do
	if r.cfg.Client == nil && (s.pause > 0 || s.pad > 0) {
		do = func(req *http.Request) (*http.Response, error) { return r.rawDo(tctx, req) }
	}
	resp, err := do(req)
	// the status line came before the body was sent: Do returns when the
	// headers arrive, while the body may still be on its way
	early := body != nil && !body.sent.Load()
	if err != nil {
		rep := reply{took: time.Since(start)}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		rep.class = espf.ErrorClass(err, errors.Is(tctx.Err(), context.DeadlineExceeded))
		rep.detail = tlsReason(err)
		r.mu.Lock()
		if s.valid {
			r.valid = &rep
		}
		if rep.class == espf.ErrTimeout {
			r.answered++
		} else {
			r.failed++
			r.lastErr = rep.class
			if rep.detail != "" {
				r.lastErr += ": " + rep.detail
			}
		}
		r.mu.Unlock()
		return rep, nil
	}
	head := make([]byte, espf.ReplyBodyLimit)
	n, _ := io.ReadFull(resp.Body, head)
	more, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	rep := reply{status: resp.StatusCode, took: time.Since(start), early: early}
	if espf.Keep(resp.StatusCode, head[:n]) {
		rep.said = espf.NewReply(resp.StatusCode, resp.Header, head[:n], more > 0)
		rep.said.Scrub(req.Header)
	}
	r.mu.Lock()
	r.answered++
	if s.valid {
		r.valid = &rep
	}
	r.mu.Unlock()
	return rep, nil
}

// pausedBody is a request body that holds back its bytes for pause: the
// headers go at once, the body after it. sent turns true when the pause
// is over (before the first byte is handed to the transport).
type pausedBody struct {
	ctx   context.Context
	pause time.Duration
	rest  *bytes.Reader
	sent  atomic.Bool
	once  sync.Once
	err   error
}

func (p *pausedBody) Read(b []byte) (int, error) {
	p.once.Do(func() {
		t := time.NewTimer(p.pause)
		defer t.Stop()
		select {
		case <-t.C:
			p.sent.Store(true)
		case <-p.ctx.Done():
			p.err = p.ctx.Err()
		}
	})
	if p.err != nil {
		return 0, p.err
	}
	return p.rest.Read(b)
}

func (p *pausedBody) Close() error { return nil }

// headerSigner writes a ready credentials value; Date is set by
// espf.NewRequest.
type headerSigner struct{ name, value string }

func (h headerSigner) Sign(hdr http.Header, _ []byte, _ time.Time) error {
	hdr.Set(h.name, h.value)
	return nil
}

// tlsReason is the x509 or TLS reason of a failed handshake, "" for other
// failures. It never contains a secret (only names, times and issuers).
func tlsReason(err error) string {
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var verr *tls.CertificateVerificationError
	var alert tls.AlertError
	var rec tls.RecordHeaderError
	switch {
	case errors.As(err, &hostErr):
		return hostErr.Error()
	case errors.As(err, &authErr):
		return authErr.Error()
	case errors.As(err, &invalid):
		return invalid.Error()
	case errors.As(err, &verr):
		return verr.Err.Error()
	case errors.As(err, &alert):
		return "the server sent the TLS alert: " + alert.Error()
	case errors.As(err, &rec):
		return "the server does not speak TLS (" + rec.Msg + ")"
	case err != nil && strings.Contains(err.Error(), "tls: "):
		msg := err.Error()
		return msg[strings.Index(msg, "tls: "):]
	}
	return ""
}

// lastValid is the last answer to a valid event, if one was sent.
func (r *runner) lastValid() (reply, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.valid == nil {
		return reply{}, false
	}
	return *r.valid, true
}

// probe sends a valid event after a request that may have broken the
// Application. A connection failure is tried once more on a fresh
// connection before it counts as the Application having died.
func (r *runner) probe(ctx context.Context) (reply, shot, error) {
	s, err := r.event("Subscriber/Created", false)
	if err != nil {
		return reply{}, s, err
	}
	rep, err := r.send(ctx, s)
	if err != nil || rep.class == "" || rep.class == espf.ErrTimeout {
		return rep, s, err
	}
	if r.cfg.Client == nil {
		r.client.CloseIdleConnections()
	}
	rep, err = r.send(ctx, s)
	return rep, s, err
}
