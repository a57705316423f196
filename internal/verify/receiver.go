// Package verify is the reference ESPF Application: an http.Handler that
// checks every delivery as contract.md §1–2 describe, journals it durably
// and idempotently by i_event, can misbehave on purpose (faults), and can
// stand in front of the user's own Application (Forward).
package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
)

// DefaultMaxBody is the body size limit when Config.MaxBody is 0: an ESPF
// event is about 0.2 KB, so 64 KiB leaves a margin of 300 times.
const DefaultMaxBody = 64 << 10

// drainGrace is how long a refused request's connection may still be read
// (net/http discards a small unread body) before it is closed.
const drainGrace = 2 * time.Second

// Auth results in Delivery.Auth.
const (
	AuthOK     = "ok"
	AuthFailed = "failed"
	AuthNone   = "none" // the receiver runs without auth
	AuthSkip   = "-"    // the request was rejected before auth (405)
)

// Config configures a Receiver; the zero value is a receiver without auth,
// on any path, with an in-memory journal.
type Config struct {
	Auth       sign.Auth        // nil = no auth (serve --no-auth)
	Path       string           // the delivery path; "" or "/" = any path
	MaxBody    int64            // 0 = DefaultMaxBody
	Strict     bool             // answer 400 to unknown event types and missing documented variables
	Faults     Faults           // misbehave on purpose
	Journal    *journal.Journal // nil = a private in-memory journal, closed by Close
	Catalog    *event.Catalog   // nil = the embedded catalog
	Now        func() time.Time // the clock for auth and journal times; nil = time.Now
	OnDelivery func(Delivery)   // called once per delivery, from the handling goroutine; must not block
	// Forward, when set, hands each delivery that passed the checks to the
	// Application and answers what it answered. Without Auth, every
	// request is forwarded, whatever the checks found.
	Forward *Forward
	// Log is the writer of the delivery lines, watched by /healthz and
	// /metrics; nil when there is none.
	Log *LineWriter
}

// Delivery is what happened to one request on the delivery path. The JSON
// field names are a stable interface (serve --json).
type Delivery struct {
	Time       time.Time `json:"time"`
	IEvent     *int64    `json:"i_event"`
	Type       string    `json:"event_type,omitempty"`
	Entity     string    `json:"entity,omitempty"`
	Auth       string    `json:"auth"`
	AuthScheme string    `json:"auth_scheme"`
	Status     int       `json:"status"` // 0 when the connection was dropped or never answered
	Duplicate  bool      `json:"duplicate"`
	Deliveries int64     `json:"deliveries,omitempty"` // 200 answers for this i_event so far
	Reason     string    `json:"reason,omitempty"`     // why it was not answered 200 (never a secret)
	Flags      []string  `json:"flags,omitempty"`      // catalog findings
	Fault      string    `json:"fault,omitempty"`      // the injected fault, if any
	HandlingMS float64   `json:"handling_ms"`
	Remote     string    `json:"remote,omitempty"` // the sender's address
	// Consequence is what the ESPF does with the answer: delivered,
	// dropped or resent.
	Consequence espf.Outcome `json:"consequence"`
	// The exchange with the Application (--forward-to): ForwardStatus is
	// nil when it gave no answer, and ForwardError says why.
	Forwarded     bool     `json:"forwarded,omitempty"`
	ForwardStatus *int     `json:"forward_status,omitempty"`
	ForwardMS     *float64 `json:"forward_ms,omitempty"`
	ForwardError  string   `json:"forward_error,omitempty"`
	// ForwardAnswer is what the Application answered when it was not a
	// plain delivery: status, headers, the first 4 KiB of its body.
	ForwardAnswer *espf.Reply `json:"forward_answer,omitempty"`
}

// Receiver is the reference Application. It serves the delivery path;
// Admin serves GET /healthz, /metrics, /events and /rejections.
type Receiver struct {
	cfg        Config
	journal    *journal.Journal
	owned      bool
	faults     *injector
	c          *counters
	scheme     string
	creds      []string // headers whose values are secrets
	keepName   string   // a custom scheme's configured name, kept when a credential value starts with it
	forwardAll bool     // no auth and a Forward: forward every request
	states     *EntityStates
	cut        cutPoint // where a measurement cuts the pipeline short (cutNone in use)
}

// cutPoint is where the load test's variants answer 200 early, to measure
// what the rest of the pipeline costs (BENCHMARKS.md, issue 14).
type cutPoint uint8

const (
	cutNone        cutPoint = iota
	cutAfterBody            // only the header checks and the body read
	cutAfterChecks          // every check and the decoding, but no journal
)

// cutShort answers 200 without journaling when the pipeline is cut at at.
func (rc *Receiver) cutShort(c *call, at cutPoint) bool {
	if rc.cut != at {
		return false
	}
	rc.answer(c, http.StatusOK, "OK")
	return true
}

// NewReceiver builds a Receiver from cfg.
func NewReceiver(cfg Config) (*Receiver, error) {
	if err := cfg.Faults.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	if !strings.HasPrefix(cfg.Path, "/") {
		return nil, fmt.Errorf("path %q: must start with /", cfg.Path)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Catalog == nil {
		cfg.Catalog = event.Default()
	}
	if cfg.Forward != nil {
		if err := cfg.Forward.init(); err != nil {
			return nil, err
		}
	}
	rc := &Receiver{cfg: cfg, journal: cfg.Journal, faults: newInjector(cfg.Faults), c: newCounters(), scheme: AuthNone,
		creds: []string{"Authorization", "Proxy-Authorization", "Cookie"}, forwardAll: cfg.Auth == nil && cfg.Forward != nil}
	if cfg.Auth != nil {
		rc.scheme = cfg.Auth.Scheme()
		rc.creds = append(rc.creds, cfg.Auth.Header())
		if c, ok := cfg.Auth.(*sign.Custom); ok {
			rc.keepName = c.Name()
		}
	}
	if rc.journal == nil {
		j, err := journal.Open(journal.Config{})
		if err != nil {
			return nil, err
		}
		rc.journal, rc.owned = j, true
	}
	if cfg.Faults.FailFirst > 0 {
		// A journal it cannot read counts as not delivered: the event is
		// failed as if new.
		rc.faults.delivered = func(iEvent int64) bool {
			ok, _ := rc.journal.Has(context.Background(), iEvent)
			return ok
		}
	}
	// The entity table starts from what the journal already holds.
	states, err := LoadEntityStates(context.Background(), rc.journal)
	if err != nil {
		if rc.owned {
			_ = rc.journal.Close()
		}
		return nil, fmt.Errorf("read the entities from the journal: %w", err)
	}
	rc.states = states
	rc.registerGauges()
	return rc, nil
}

// Journal is the journal the receiver writes.
func (rc *Receiver) Journal() *journal.Journal { return rc.journal }

// Stats returns the counts so far.
func (rc *Receiver) Stats() Stats { return rc.c.stats() }

// Close closes the journal if the receiver opened it.
func (rc *Receiver) Close() error {
	if rc.owned {
		return rc.journal.Close()
	}
	return nil
}

// ServeHTTP serves the delivery path: every request there is a delivery.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(r.URL.Path, StatePath) {
		rc.state(w, r)
		return
	}
	if rc.cfg.Path != "/" && r.URL.Path != rc.cfg.Path {
		w.Header().Set("Connection", "close")
		http.NotFound(w, r)
		return
	}
	rc.deliver(w, r)
}

// call is one delivery on its way through the pipeline.
type call struct {
	w          http.ResponseWriter
	r          *http.Request
	d          Delivery
	start, now time.Time
	label      string // the metrics' event_type label
	body       []byte
	bodyRead   bool // the whole body was read
	ev         *event.Event
	logAnyway  bool // journal it as a rejection although answered 200 (not an event)
}

// deliver is the pipeline: method 405, auth 401 and Date 400 from the
// headers alone, size 413, body 400, catalog (400 when strict), faults,
// then the journal commit and 200, or the Application's answer.
func (rc *Receiver) deliver(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, start: time.Now(), now: rc.cfg.Now(), label: "-"}
	c.d = Delivery{Time: c.now.UTC(), Auth: AuthSkip, AuthScheme: rc.scheme, Remote: r.RemoteAddr}
	defer rc.end(c)
	if !rc.checkHeaders(c) || !rc.readBody(c) || rc.cutShort(c, cutAfterBody) ||
		!rc.checkEvent(c) || !rc.inject(c) || rc.cutShort(c, cutAfterChecks) {
		return
	}
	if rc.cfg.Forward != nil {
		rc.forward(c)
		return
	}
	rc.commit(c)
}

// end counts, journals a delivery not answered 200 and reports it; it
// runs even when a fault aborts the handler.
func (rc *Receiver) end(c *call) {
	took := time.Since(c.start)
	c.d.HandlingMS = float64(took.Microseconds()) / 1000
	c.d.Consequence = espf.Consequence(c.d.Status, c.d.Status == 0)
	rc.c.add(&c.d, c.label, took)
	if c.d.Status != http.StatusOK || c.logAnyway {
		rc.journal.Log(rc.rejection(c))
	}
	if rc.cfg.OnDelivery != nil {
		rc.cfg.OnDelivery(c.d)
	}
}

// refuse answers status with msg and the reason on the line and in the
// journal. Without auth but with a Forward, a refusal that is not about
// size is only noted, and the request goes on to the Application.
func (rc *Receiver) refuse(c *call, status int, reason, msg string) bool {
	if rc.forwardAll && status != http.StatusRequestEntityTooLarge {
		c.d.Flags = append(c.d.Flags, fmt.Sprintf("serve would answer %d: %s", status, reason))
		return true
	}
	c.d.Reason = reason
	rc.answer(c, status, msg)
	return false
}

// answer writes a plain-text answer. A request whose body was not read is
// answered from its headers alone and its connection closed: the body is
// never read into memory (net/http may discard a small rest, within
// drainGrace).
func (rc *Receiver) answer(c *call, status int, msg string) {
	c.d.Status = status
	h := c.w.Header()
	if !c.bodyRead && c.r.ContentLength != 0 {
		h.Set("Connection", "close")
		_ = http.NewResponseController(c.w).SetReadDeadline(time.Now().Add(drainGrace))
	}
	h["Content-Type"], h["X-Content-Type-Options"] = plainText, noSniff
	c.w.WriteHeader(status)
	if msg == "OK" {
		_, _ = c.w.Write(okLine)
		return
	}
	_, _ = c.w.Write([]byte(msg + "\n"))
}

// The answer's constant parts, allocated once (answer runs on every
// delivery; net/http only reads them).
var (
	plainText = []string{"text/plain; charset=utf-8"}
	noSniff   = []string{"nosniff"}
	okLine    = []byte("OK\n")
)

// checkHeaders checks what the headers alone tell: the method, the
// credentials, the Date and the declared size.
func (rc *Receiver) checkHeaders(c *call) bool {
	r := c.r
	if r.Method != http.MethodPost {
		c.w.Header().Set("Allow", http.MethodPost)
		if !rc.refuse(c, http.StatusMethodNotAllowed, "method "+r.Method+", want POST", "method not allowed: the ESPF POSTs") {
			return false
		}
	}
	c.d.Auth = AuthNone
	if rc.cfg.Auth != nil {
		// Every scheme reads only headers: a request with bad credentials
		// is answered before a byte of its body is read.
		if err := rc.cfg.Auth.Verify(r.Header, nil, c.now); err != nil {
			c.d.Auth = AuthFailed // the reason goes to the log, never to the client
			return rc.refuse(c, http.StatusUnauthorized, err.Error(), "unauthorized")
		}
		c.d.Auth = AuthOK
	}
	// Every delivery carries exactly one valid Date (contract §1, §5). The
	// signature scheme checked it as part of auth (401); for the others a
	// missing, repeated or unreadable Date is a malformed request (400).
	if rc.scheme != sign.SchemeSignature {
		if _, _, err := sign.ParseDate(r.Header); err != nil && !rc.refuse(c, http.StatusBadRequest, err.Error(), err.Error()) {
			return false
		}
	}
	if r.ContentLength > rc.cfg.MaxBody {
		reason := fmt.Sprintf("body of %d bytes declared, larger than %d", r.ContentLength, rc.cfg.MaxBody)
		return rc.refuse(c, http.StatusRequestEntityTooLarge, reason, reason)
	}
	return true
}

// readBody reads the body, up to MaxBody.
func (rc *Receiver) readBody(c *call) bool {
	body, err := readAll(http.MaxBytesReader(c.w, c.r.Body, rc.cfg.MaxBody), c.r.ContentLength)
	c.body = body
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reason := fmt.Sprintf("body larger than %d bytes", tooBig.Limit)
			return rc.refuse(c, http.StatusRequestEntityTooLarge, reason, reason)
		}
		c.d.Reason = "read body: " + err.Error()
		rc.answer(c, http.StatusBadRequest, c.d.Reason)
		return false
	}
	c.bodyRead = true
	return true
}

// checkEvent decodes the body and checks it against the catalog.
func (rc *Receiver) checkEvent(c *call) bool {
	ev, err := event.Decode(c.body)
	if err != nil {
		return rc.refuse(c, http.StatusBadRequest, err.Error(), err.Error())
	}
	id, _ := ev.IEvent()
	c.ev = ev
	c.d.IEvent, c.d.Type, c.d.Entity = &id, ev.Type, ev.Entity()
	c.label = "other"
	missing, known := ev.Missing(rc.cfg.Catalog)
	switch {
	case !known:
		c.d.Flags = append(c.d.Flags, "unknown event type")
	case len(missing) > 0:
		c.label = ev.Type
		c.d.Flags = append(c.d.Flags, "missing variables: "+strings.Join(missing, ","))
	default:
		c.label = ev.Type
	}
	if rc.cfg.Strict && (!known || len(missing) > 0) {
		reason := strings.Join(c.d.Flags, "; ")
		return rc.refuse(c, http.StatusBadRequest, reason, reason)
	}
	return true
}

// inject applies the faults; it reports whether to go on to the commit.
func (rc *Receiver) inject(c *call) bool {
	if c.ev == nil || !rc.cfg.Faults.Enabled() {
		return true
	}
	ft := rc.faults.decide(*c.d.IEvent)
	c.d.Fault = ft.name
	if ft.delay > 0 {
		t := time.NewTimer(ft.delay)
		select {
		case <-t.C:
		case <-c.r.Context().Done():
			t.Stop()
		}
	}
	switch {
	case ft.hang:
		<-c.r.Context().Done() // the client gave up, or the server is stopping
		c.d.Reason = "fault: hang"
		// Returning normally would make net/http send an implicit 200.
		panic(http.ErrAbortHandler)
	case ft.reset:
		c.d.Reason = "fault: connection reset"
		panic(http.ErrAbortHandler) // net/http closes the connection without an answer
	case ft.status != 0:
		c.d.Reason = "fault: " + ft.name
		rc.answer(c, ft.status, http.StatusText(ft.status))
		return false
	}
	return true
}

// commit journals the event and answers 200 once it is committed.
func (rc *Receiver) commit(c *call) {
	out, err := rc.journal.Commit(rc.event(c))
	if err != nil {
		// Never 200 without the commit: a 500 makes the ESPF re-send.
		c.d.Reason = err.Error()
		rc.answer(c, http.StatusInternalServerError, "journal unavailable")
		return
	}
	rc.faults.done(*c.d.IEvent)
	rc.states.Apply(c.ev.Type, c.ev.Variables, *c.d.IEvent)
	if out.First {
		rc.states.Count(c.ev.Type, c.ev.Variables)
	}
	c.d.Duplicate, c.d.Deliveries = !out.First, out.Deliveries
	rc.answer(c, http.StatusOK, "OK")
}

// forward hands the delivery to the Application and answers what it
// answered; an event the Application answered 200 is journaled.
func (rc *Receiver) forward(c *call) {
	f := rc.cfg.Forward
	x := f.do(c.r.Context(), c.r, c.body)
	rc.c.forwarded(&x)
	c.d.Forwarded = true
	ms := float64(x.took.Microseconds()) / 1000
	c.d.ForwardMS = &ms
	if x.err == nil {
		c.d.ForwardStatus, c.d.ForwardAnswer = &x.status, x.said
	} else {
		c.d.ForwardError = x.class + ": " + unwrapNet(x.err)
	}
	status := x.answerStatus()
	switch {
	case status == http.StatusOK && c.ev != nil:
		out, err := rc.journal.Commit(rc.event(c))
		if err != nil {
			// The Application has the event; what the sender sees stays
			// what the Application answered.
			c.d.Flags = append(c.d.Flags, "not journaled: "+err.Error())
		} else {
			c.d.Duplicate, c.d.Deliveries = !out.First, out.Deliveries
			rc.faults.done(*c.d.IEvent)
			rc.states.Apply(c.ev.Type, c.ev.Variables, *c.d.IEvent)
			if out.First {
				rc.states.Count(c.ev.Type, c.ev.Variables)
			}
		}
	case status == http.StatusOK:
		c.logAnyway = true
		c.d.Reason = "not an ESPF event; " + x.describe(f.Timeout)
	default:
		c.d.Reason = x.describe(f.Timeout)
	}
	if x.err != nil {
		rc.answer(c, status, "espfctl serve: "+x.describe(f.Timeout))
		return
	}
	c.d.Status = status
	if x.contentType != "" {
		c.w.Header().Set("Content-Type", x.contentType)
	}
	c.w.WriteHeader(status)
	_, _ = c.w.Write(x.body)
}

// event is the journal's record of a delivery answered 200: the event
// with its whole raw capture.
func (rc *Receiver) event(c *call) journal.Record {
	r := journal.Record{Time: c.d.Time, IEvent: c.d.IEvent, Type: c.d.Type, Variables: c.ev.RawVariables,
		AuthScheme: c.d.AuthScheme, Auth: c.d.Auth, Status: http.StatusOK, Flags: strings.Join(c.d.Flags, "; "),
		Remote: c.d.Remote, Body: c.body, BodySize: int64(len(c.body)), Entity: c.d.Entity}
	if !rc.journal.Scratch() { // a scratch journal keeps no raw capture
		r.Headers = capture(c.r, rc.creds, rc.keepName, maxHeaderValue, maxHeadersSize)
	}
	rc.forwardFields(c, &r)
	return r
}

// rejection is the journal's record of a delivery not answered 200,
// bounded whoever sent it: text fields escaped and cut, at most
// MaxRejectedBody bytes of the body, small header values.
func (rc *Receiver) rejection(c *call) journal.Record {
	r := journal.Record{Time: c.d.Time, IEvent: c.d.IEvent, Type: journal.Clip(Escape(c.d.Type), maxRejectedTypeName),
		AuthScheme: c.d.AuthScheme, Auth: c.d.Auth, Status: c.d.Status,
		Reason: journal.Clip(Escape(rejectionReason(&c.d)), maxRejectedReason), Remote: journal.Clip(Escape(c.d.Remote), maxRemote),
		BodySize: c.r.ContentLength, Entity: journal.Clip(Escape(c.d.Entity), maxRejectedTypeName),
		Headers: capture(c.r, rc.creds, rc.keepName, maxRejectedHeader, maxRejectedHeaders)}
	if c.bodyRead {
		r.BodySize = int64(len(c.body))
		r.Body = []byte(journal.Clip(string(c.body), MaxRejectedBody))
		if len(c.body) <= MaxRejectedBody {
			r.Body = c.body
		}
	}
	r.BodySize = max(r.BodySize, 0)
	rc.forwardFields(c, &r)
	return r
}

func rejectionReason(d *Delivery) string {
	if len(d.Flags) == 0 {
		return d.Reason
	}
	return d.Reason + " [" + strings.Join(d.Flags, "; ") + "]"
}

func (rc *Receiver) forwardFields(c *call, r *journal.Record) {
	if !c.d.Forwarded {
		return
	}
	r.Forwarded, r.ForwardError = true, journal.Clip(Escape(c.d.ForwardError), maxRejectedReason)
	r.ForwardStatus, r.ForwardMS, r.ForwardAnswer = c.d.ForwardStatus, c.d.ForwardMS, c.d.ForwardAnswer
}

// readAll reads r whole, sized from the declared length (which the caller
// bounded) so that a normal body is read into one allocation.
func readAll(r io.Reader, declared int64) ([]byte, error) {
	if declared <= 0 || declared > DefaultMaxBody<<4 {
		declared = 512
	}
	buf := bytes.NewBuffer(make([]byte, 0, declared+1))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}
