// Package verify is the reference ESPF Application: an http.Handler that
// checks every delivery as contract.md §1–2 describe, journals it durably
// and idempotently by i_event, and can misbehave on purpose (faults).
package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
)

// DefaultMaxBody is the body size limit when Config.MaxBody is 0.
const DefaultMaxBody = 1 << 20

// Auth results in Delivery.Auth.
const (
	AuthOK     = "ok"
	AuthFailed = "failed"
	AuthNone   = "none" // the receiver runs without auth
	AuthSkip   = "-"    // the request was rejected before auth (405, 413)
)

// Config configures a Receiver; the zero value is a receiver without auth,
// on any path, with an in-memory journal.
type Config struct {
	Auth       sign.Auth        // nil = no auth (serve --no-auth)
	Path       string           // the delivery path; "" or "/" = any path but the GET endpoints
	MaxBody    int64            // 0 = DefaultMaxBody
	Strict     bool             // answer 400 to unknown event types and missing documented variables
	Faults     Faults           // misbehave on purpose
	Journal    *Journal         // nil = a private in-memory journal, closed by Close
	Catalog    *event.Catalog   // nil = the embedded catalog
	Now        func() time.Time // the clock for auth and journal times; nil = time.Now
	OnDelivery func(Delivery)   // called once per delivery, from the handling goroutine
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
}

// Receiver is the reference Application. It serves the delivery path, and
// GET /healthz, /metrics and /events.
type Receiver struct {
	cfg     Config
	journal *Journal
	owned   bool
	faults  *injector
	c       *counters
	scheme  string
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
	rc := &Receiver{cfg: cfg, journal: cfg.Journal, faults: newInjector(cfg.Faults), c: newCounters(), scheme: AuthNone}
	if cfg.Auth != nil {
		rc.scheme = cfg.Auth.Scheme()
	}
	if rc.journal == nil {
		j, err := OpenJournal("")
		if err != nil {
			return nil, err
		}
		rc.journal, rc.owned = j, true
	}
	return rc, nil
}

// Journal is the journal the receiver writes.
func (rc *Receiver) Journal() *Journal { return rc.journal }

// Stats returns the counts so far.
func (rc *Receiver) Stats() Stats { return rc.c.stats() }

// Close closes the journal if the receiver opened it.
func (rc *Receiver) Close() error {
	if rc.owned {
		return rc.journal.Close()
	}
	return nil
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		switch r.URL.Path {
		case "/healthz":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, "ok\n")
			return
		case "/metrics":
			rc.c.handler().ServeHTTP(w, r)
			return
		case "/events":
			rc.serveEvents(w, r)
			return
		}
	}
	if rc.cfg.Path != "/" && r.URL.Path != rc.cfg.Path {
		http.NotFound(w, r)
		return
	}
	rc.deliver(w, r)
}

// serveEvents writes the journal as JSON lines, as `espfctl journal --json`
// does. Query: type=T, since=RFC3339.
func (rc *Receiver) serveEvents(w http.ResponseWriter, r *http.Request) {
	var f Filter
	f.Type = r.URL.Query().Get("type")
	if s := r.URL.Query().Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			http.Error(w, fmt.Sprintf("since %q: want RFC3339", s), http.StatusBadRequest)
			return
		}
		f.Since = t
	}
	evs, err := rc.journal.Events(r.Context(), f)
	if err != nil {
		http.Error(w, "cannot read the journal", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	WriteJSONL(w, evs)
}

// WriteJSONL writes events one JSON object per line.
func WriteJSONL(w io.Writer, evs []Event) error {
	enc := json.NewEncoder(w)
	for i := range evs {
		if err := enc.Encode(&evs[i]); err != nil {
			return err
		}
	}
	return nil
}

func answer(w http.ResponseWriter, d *Delivery, status int, msg string) {
	d.Status = status
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg)
	io.WriteString(w, "\n")
}

// deliver is the pipeline: method 405, body size 413, auth 401, Date and
// body 400, catalog (400 when strict), faults, journal commit, 200.
func (rc *Receiver) deliver(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	now := rc.cfg.Now()
	d := Delivery{Time: now.UTC(), Auth: AuthSkip, AuthScheme: rc.scheme}
	label := "-"
	defer func() {
		took := time.Since(start)
		d.HandlingMS = float64(took.Microseconds()) / 1000
		rc.c.add(&d, label, took)
		if d.Status != http.StatusOK {
			rc.journal.Log(rc.entry(&d, nil))
		}
		if rc.cfg.OnDelivery != nil {
			rc.cfg.OnDelivery(d)
		}
	}()

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		d.Reason = "method " + r.Method + ", want POST"
		answer(w, &d, http.StatusMethodNotAllowed, "method not allowed: the ESPF POSTs")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			d.Reason = fmt.Sprintf("body larger than %d bytes", tooBig.Limit)
			answer(w, &d, http.StatusRequestEntityTooLarge, d.Reason)
			return
		}
		d.Reason = "read body: " + err.Error()
		answer(w, &d, http.StatusBadRequest, d.Reason)
		return
	}
	d.Auth = AuthNone
	if rc.cfg.Auth != nil {
		if err := rc.cfg.Auth.Verify(r.Header, body, now); err != nil {
			d.Auth, d.Reason = AuthFailed, err.Error() // the reason goes to the log, never to the client
			answer(w, &d, http.StatusUnauthorized, "unauthorized")
			return
		}
		d.Auth = AuthOK
	}
	// Every delivery carries exactly one valid Date (contract §1, §5). The
	// signature scheme checked it as part of auth (401); for the others a
	// missing, repeated or unreadable Date is a malformed request (400).
	if rc.scheme != sign.SchemeSignature {
		if _, _, err := sign.ParseDate(r.Header); err != nil {
			d.Reason = err.Error()
			answer(w, &d, http.StatusBadRequest, d.Reason)
			return
		}
	}
	ev, err := event.Decode(body)
	if err != nil {
		d.Reason = err.Error()
		answer(w, &d, http.StatusBadRequest, d.Reason)
		return
	}
	id, _ := ev.IEvent()
	d.IEvent, d.Type, d.Entity = &id, ev.Type, ev.Entity()
	label = "other"
	missing, known := ev.Missing(rc.cfg.Catalog)
	switch {
	case !known:
		d.Flags = append(d.Flags, "unknown event type")
	case len(missing) > 0:
		label = ev.Type
		d.Flags = append(d.Flags, "missing variables: "+strings.Join(missing, ","))
	default:
		label = ev.Type
	}
	if rc.cfg.Strict && len(d.Flags) > 0 {
		d.Reason = strings.Join(d.Flags, "; ")
		answer(w, &d, http.StatusBadRequest, d.Reason)
		return
	}
	if !rc.inject(w, r, &d, id) {
		return
	}
	out, err := rc.journal.Record(rc.entry(&d, ev.RawVariables))
	if err != nil {
		// Never 200 without the commit: a 500 makes the ESPF re-send.
		d.Reason = err.Error()
		answer(w, &d, http.StatusInternalServerError, "journal unavailable")
		return
	}
	d.Duplicate, d.Deliveries = !out.First, out.Deliveries
	answer(w, &d, http.StatusOK, "OK")
}

// inject applies the faults; it reports whether to go on to the commit.
func (rc *Receiver) inject(w http.ResponseWriter, r *http.Request, d *Delivery, id int64) bool {
	ft := rc.faults.decide(id)
	d.Fault = ft.name
	if ft.delay > 0 {
		t := time.NewTimer(ft.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	switch {
	case ft.hang:
		<-r.Context().Done() // the client gave up, or the server is stopping
		d.Reason = "fault: hang"
		// Returning normally would make net/http send an implicit 200.
		panic(http.ErrAbortHandler)
	case ft.reset:
		d.Reason = "fault: connection reset"
		panic(http.ErrAbortHandler) // net/http closes the connection without an answer
	case ft.status != 0:
		d.Reason = "fault: " + ft.name
		answer(w, d, ft.status, http.StatusText(ft.status))
		return false
	}
	return true
}

func (rc *Receiver) entry(d *Delivery, vars json.RawMessage) Entry {
	e := Entry{At: d.Time, Type: d.Type, Variables: vars, AuthScheme: d.AuthScheme, Auth: d.Auth,
		Status: http.StatusOK, Reason: d.Reason, Flags: strings.Join(d.Flags, "; ")}
	if d.Status != 0 {
		e.Status = d.Status
	}
	if vars == nil {
		e.Status = d.Status
	}
	if d.IEvent != nil {
		e.IEvent, e.HasEvent = *d.IEvent, true
	}
	return e
}
