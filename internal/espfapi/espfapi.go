// Package espfapi is the PortaBilling side of the loop, mocked: the ESPF
// API's status callbacks (contract.md §4) an Application makes after
// asynchronous provisioning, and the PortaBilling API (§6) it logs in to
// and reads each entity back from. It validates each call, remembers each
// account's latest status and relates it to when the sender delivered the
// account's event, and answers reads with what PortaBilling holds at the
// moment of the call: every entity an emitted event named.
package espfapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/entity"
)

// Statuses the API accepts; OK and FAILED are final.
var Statuses = []string{"OK", "IN_PROGRESS", "RETRY", "FAILED"}

// MaxMessage is the documented limit on message, in characters.
const MaxMessage = 4000

// Config configures the mock. The zero value accepts any caller (an open
// mock): Session/login then takes any login and password.
type Config struct {
	Token    string           // a static token: "Authorization: Bearer <Token>" is accepted, and Session/login takes it as "token"
	Login    string           // the login Session/login accepts
	Password string           // and its password
	TokenTTL time.Duration    // access tokens expire after this; 0 = DefaultTokenTTL
	IEnv     int64            // the i_env of the tokens and the info answers; 0 = 1
	Now      func() time.Time // nil = time.Now
	// BodyTimeout bounds the read of a call's body; 0 = BodyTimeout.
	BodyTimeout time.Duration
}

// Mock is an http.Handler for the status routes and the PortaBilling API.
type Mock struct {
	cfg       Config
	mux       *http.ServeMux
	mu        sync.Mutex
	accounts  map[string]*account
	delivered map[string]time.Time
	rejected  int64
	sess      sessions
	store     map[entity.Key]*record
	dids      int64 // i_did_number of the last DID seen
	calls     map[string]*MethodCalls
	thr       throttle // failed logins by address
}

type account struct {
	AccountStatus
	final time.Time
}

// MethodCalls is how often one API method was called, and how many of
// those calls were refused (a fault, or 400/401 on the status routes).
type MethodCalls struct {
	Method string `json:"method"`
	Calls  int64  `json:"calls"`
	Faults int64  `json:"faults,omitempty"`
}

// StatusMethod names the status routes in Calls.
const StatusMethod = "espf/v1 account status"

// New returns a mock with no calls recorded.
func New(cfg Config) *Mock {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.IEnv == 0 {
		cfg.IEnv = 1
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = BodyTimeout
	}
	m := &Mock{cfg: cfg, mux: http.NewServeMux(), accounts: map[string]*account{}, delivered: map[string]time.Time{},
		sess: newSessions(), store: map[entity.Key]*record{}, calls: map[string]*MethodCalls{}}
	m.mux.HandleFunc("POST /rest/{service}/{method}", m.rest)
	m.mux.HandleFunc("POST /espf/v1/account/i/{i_account}/status", func(w http.ResponseWriter, r *http.Request) {
		m.status(w, r, "i_account="+r.PathValue("i_account"), true)
	})
	m.mux.HandleFunc("POST /espf/v1/account/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		m.status(w, r, "id="+r.PathValue("id"), false)
	})
	return m
}

// Limits on one status call: a call is a few hundred bytes (message is at
// most 4000 characters), so MaxBody leaves a wide margin.
const (
	MaxBody       = 64 << 10
	HeaderTimeout = 5 * time.Second  // to read the request's headers
	BodyTimeout   = 10 * time.Second // to read its body, once the headers are in
)

// ServeHTTP implements http.Handler. The body must arrive within
// BodyTimeout whatever server runs the mock.
func (m *Mock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(m.cfg.BodyTimeout))
	m.mux.ServeHTTP(w, r)
}

// NewServer is an http.Server for the mock with its read timeouts and
// limits, so that a slow or stalled caller cannot hold a connection.
func NewServer(m *Mock) *http.Server {
	return &http.Server{Handler: m, ReadHeaderTimeout: HeaderTimeout, ReadTimeout: HeaderTimeout + BodyTimeout,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10}
}

// Delivered records that the event about entity (e.g. "i_account=1000889")
// was delivered at t, so the report can show the time to its final status.
// The first delivery counts.
func (m *Mock) Delivered(entity string, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.delivered[entity]; !ok {
		m.delivered[entity] = t
	}
}

// Accounts returns each account's latest status, sorted by account, and
// the number of calls rejected (bad auth or bad parameters).
func (m *Mock) Accounts() ([]AccountStatus, int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]AccountStatus, 0, len(m.accounts))
	for key, a := range m.accounts {
		s := a.AccountStatus
		if d, ok := m.delivered[key]; ok && !a.final.IsZero() {
			// An Application may report the status before the sender has
			// read the 200 it answered: that counts as no time at all.
			ms := max(float64(a.final.Sub(d))/1e6, 0)
			s.SinceDeliveryMS = &ms
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Account < out[j].Account })
	return out, m.rejected
}

type params struct {
	Status  string `json:"status"`
	Group   string `json:"group"`
	Message string `json:"message"`
}

// open reports whether the mock has no credentials configured.
func (m *Mock) open() bool { return m.cfg.Token == "" && m.cfg.Login == "" && m.cfg.Password == "" }

// staticToken reports whether tok is the configured static token.
func (m *Mock) staticToken(tok string) bool {
	return m.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(m.cfg.Token)) == 1
}

// statusAuth checks a status call: "Authorization: Bearer" with the static
// token or an access token from Session/login.
func (m *Mock) statusAuth(r *http.Request) string {
	if m.open() {
		return ""
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "missing API credentials: send Authorization: Bearer <access_token from Session/login>"
	}
	if m.staticToken(tok) {
		return ""
	}
	m.mu.Lock()
	_, err := m.byToken(strings.TrimSpace(tok))
	m.mu.Unlock()
	if err != nil {
		return "wrong API credentials: " + err.Error()
	}
	return ""
}

func (m *Mock) status(w http.ResponseWriter, r *http.Request, key string, numeric bool) {
	now := m.cfg.Now()
	if msg := m.statusAuth(r); msg != "" {
		m.reject()
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []string{msg}})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		m.reject()
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"errors": []string{fmt.Sprintf("body larger than %d bytes", MaxBody)}})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []string{"unreadable body: " + err.Error()}})
		return
	}
	p, errs := parse(r.Header.Get("Content-Type"), body)
	if numeric && strings.TrimLeft(strings.TrimPrefix(key, "i_account="), "0123456789") != "" {
		errs = append(errs, "i_account in the path must be an integer")
	}
	if len(errs) > 0 {
		m.reject()
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": errs})
		return
	}
	m.mu.Lock()
	a := m.accounts[key]
	if a == nil {
		a = &account{AccountStatus: AccountStatus{Account: key}}
		m.accounts[key] = a
	}
	a.Status, a.Group, a.Message = p.Status, p.Group, p.Message
	a.Calls++
	if (p.Status == "OK" || p.Status == "FAILED") && a.final.IsZero() {
		a.final = now
	}
	m.countLocked(StatusMethod, false)
	m.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"success": 1})
}

func (m *Mock) reject() {
	m.mu.Lock()
	m.rejected++
	m.countLocked(StatusMethod, true)
	m.mu.Unlock()
}

func (m *Mock) count(method string, failed bool) {
	m.mu.Lock()
	m.countLocked(method, failed)
	m.mu.Unlock()
}

func (m *Mock) countLocked(method string, failed bool) {
	c := m.calls[method]
	if c == nil {
		c = &MethodCalls{Method: method}
		m.calls[method] = c
	}
	c.Calls++
	if failed {
		c.Faults++
	}
}

// Calls returns the calls per method (PortaBilling API methods and the
// status routes), sorted by method.
func (m *Mock) Calls() []MethodCalls {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]MethodCalls, 0, len(m.calls))
	for _, c := range m.calls {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Method < out[j].Method })
	return out
}

// parse reads the parameters from a form-encoded or JSON body and lists
// every problem.
func parse(contentType string, body []byte) (params, []string) {
	var p params
	ct, _, _ := mime.ParseMediaType(contentType)
	switch ct {
	case "application/json":
		if err := json.Unmarshal(body, &p); err != nil {
			return p, []string{"body is not a JSON object with string status, group, message: " + err.Error()}
		}
	case "application/x-www-form-urlencoded", "":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return p, []string{"body is not form-encoded: " + err.Error()}
		}
		p = params{Status: v.Get("status"), Group: v.Get("group"), Message: v.Get("message")}
	default:
		return p, []string{fmt.Sprintf("content type %q: want application/x-www-form-urlencoded or application/json", ct)}
	}
	var errs []string
	switch {
	case p.Status == "":
		errs = append(errs, "status is mandatory: one of "+strings.Join(Statuses, ", "))
	case !contains(Statuses, p.Status):
		errs = append(errs, fmt.Sprintf("status %q: want one of %s", p.Status, strings.Join(Statuses, ", ")))
	}
	if strings.TrimSpace(p.Group) == "" {
		errs = append(errs, "group is mandatory: the service group, e.g. VoIP, HSS, PCRF, IPTV")
	}
	if n := utf8.RuneCountInString(p.Message); n > MaxMessage {
		errs = append(errs, fmt.Sprintf("message has %d characters, at most %d allowed", n, MaxMessage))
	}
	return p, errs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// AccountStatus is the latest provisioning status an account reported
// through the ESPF API mock.
type AccountStatus struct {
	Account         string   `json:"account"`
	Status          string   `json:"status"`
	Group           string   `json:"group"`
	Message         string   `json:"message,omitempty"`
	Calls           int      `json:"calls"`
	SinceDeliveryMS *float64 `json:"since_delivery_ms,omitempty"`
}
