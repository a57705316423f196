package espfapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/event"
)

// The methods of the PortaBilling API the mock answers (contract.md §6),
// as POST /rest/<Service>/<method>.
var restMethods = map[string]func(*Mock, *call) (any, *Fault){
	"Session/login":                (*Mock).sessionLogin,
	"Session/refresh_access_token": (*Mock).sessionRefresh,
	"Session/ping":                 (*Mock).sessionPing,
	"Session/logout":               (*Mock).sessionLogout,
	"Account/get_account_info":     (*Mock).getAccountInfo,
	"Customer/get_customer_info":   (*Mock).getCustomerInfo,
	"Invoice/get_invoice_info":     (*Mock).getInvoiceInfo,
	"DID/get_number_list":          (*Mock).getNumberList,
}

// RestMethods lists the Service/method names the mock answers, sorted.
func RestMethods() []string {
	out := make([]string, 0, len(restMethods))
	for k := range restMethods {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Fault is PortaBilling's error answer: HTTP 500 with this body.
type Fault struct {
	Code   string        `json:"faultcode"`
	String string        `json:"faultstring"`
	retry  time.Duration // > 0: answered with Retry-After (a login refused for a while)
}

func fault(code, format string, args ...any) *Fault {
	return &Fault{Code: code, String: fmt.Sprintf(format, args...)}
}

// call is one request to /rest/: its params and auth_info, decoded.
type call struct {
	r        *http.Request
	params   map[string]any
	authInfo map[string]any
	session  *session // set by authorize
}

func (m *Mock) rest(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("service") + "/" + r.PathValue("method")
	h, ok := restMethods[method]
	if !ok {
		m.count("unknown method", true)
		writeJSON(w, http.StatusInternalServerError, fault(FaultUnknownMethod,
			"no method %s: the mock answers %s", method, strings.Join(RestMethods(), ", ")))
		return
	}
	c, f := readCall(r)
	if f == nil && !strings.HasPrefix(method, "Session/") {
		f = m.authorize(c)
	}
	var answer any
	if f == nil {
		answer, f = h(m, c)
	}
	m.count(method, f != nil)
	if f != nil {
		if f.retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(roundUp(f.retry)/time.Second)))
		}
		writeJSON(w, http.StatusInternalServerError, f)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// readCall decodes a JSON body {"params": {…}, "auth_info": {…}} or a
// form-encoded one whose params and auth_info are JSON strings.
func readCall(r *http.Request) (*call, *Fault) {
	c := &call{r: r, params: map[string]any{}}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		return nil, fault(FaultBadRequest, "unreadable body: %v", err)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		if len(bytes.TrimSpace(body)) == 0 {
			return c, nil
		}
		var raw struct {
			Params   json.RawMessage `json:"params"`
			AuthInfo json.RawMessage `json:"auth_info"`
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, fault(FaultBadRequest, `body is not a JSON object such as {"params": {…}}: %v`, err)
		}
		if c.params, err = object(raw.Params, "params"); err != nil {
			return nil, fault(FaultBadRequest, "%v", err)
		}
		if c.authInfo, err = object(raw.AuthInfo, "auth_info"); err != nil {
			return nil, fault(FaultBadRequest, "%v", err)
		}
	case "application/x-www-form-urlencoded", "":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fault(FaultBadRequest, "body is not form-encoded: %v", err)
		}
		if c.params, err = object([]byte(v.Get("params")), "params"); err != nil {
			return nil, fault(FaultBadRequest, "%v", err)
		}
		if c.authInfo, err = object([]byte(v.Get("auth_info")), "auth_info"); err != nil {
			return nil, fault(FaultBadRequest, "%v", err)
		}
	default:
		return nil, fault(FaultBadRequest, "content type %q: want application/json or application/x-www-form-urlencoded", ct)
	}
	return c, nil
}

// object decodes a JSON object (numbers kept exact); empty or null is {}.
func object(b []byte, name string) (map[string]any, error) {
	out := map[string]any{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil || out == nil {
		return nil, fmt.Errorf("%s is not a JSON object: %s", name, short(b))
	}
	return out, nil
}

func short(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// authorize checks a call's credentials: "Authorization: Bearer
// <access_token>" (or the static --api-token), or auth_info with a
// session_id, or with a login and its password or token. An open mock
// (no credentials configured) accepts any call.
func (m *Mock) authorize(c *call) *Fault {
	if tok, ok := strings.CutPrefix(c.r.Header.Get("Authorization"), "Bearer "); ok {
		if m.staticToken(tok) {
			return nil
		}
		m.mu.Lock()
		s, err := m.byToken(strings.TrimSpace(tok))
		m.mu.Unlock()
		if err != nil && !m.open() {
			return fault(FaultAuthFailed, "%v: log in again with Session/login", err)
		}
		c.session = s
		return nil
	}
	if sid := str(c.authInfo, "session_id"); sid != "" {
		m.mu.Lock()
		s, ok := m.sess.bySession[sid]
		m.mu.Unlock()
		if !ok && !m.open() {
			return fault(FaultAuthFailed, "session_id unknown or logged out: log in again with Session/login")
		}
		c.session = s
		return nil
	}
	if login := str(c.authInfo, "login"); login != "" {
		return m.checkCaller(c.r, login, str(c.authInfo, "password"), str(c.authInfo, "token"), "auth_info: wrong login, password or token")
	}
	if m.open() {
		return nil
	}
	return fault(FaultAuthFailed, "no credentials: log in with Session/login, then send Authorization: Bearer <access_token> or auth_info {\"session_id\": …}")
}

func (m *Mock) loginAnswer(s *session) map[string]any {
	return map[string]any{"access_token": s.access, "expires_at": s.exp.UTC().Format(ExpiresAtLayout),
		"refresh_token": s.refresh, "session_id": s.id}
}

func (m *Mock) sessionLogin(c *call) (any, *Fault) {
	login, password, token := str(c.params, "login"), str(c.params, "password"), str(c.params, "token")
	if login == "" || (password == "" && token == "") {
		return nil, fault(FaultBadRequest, "Session/login needs params login and password (or token)")
	}
	if f := m.checkCaller(c.r, login, password, token, "wrong login, password or token"); f != nil {
		return nil, f
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.login(login)
	if err != nil {
		return nil, fault("Server.Session.login.internal", "%v", err)
	}
	return m.loginAnswer(s), nil
}

func (m *Mock) sessionRefresh(c *call) (any, *Fault) {
	rt := str(c.params, "refresh_token")
	if rt == "" {
		return nil, fault(FaultBadRequest, "Session/refresh_access_token needs params refresh_token")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sess.byRefresh[rt]
	if !ok {
		return nil, fault(FaultAuthFailed, "refresh_token unknown or logged out: log in again with Session/login")
	}
	if err := m.issue(s); err != nil {
		return nil, fault("Server.Session.refresh_access_token.internal", "%v", err)
	}
	return m.loginAnswer(s), nil
}

// target is the session a ping or logout is about: its params'
// access_token or session_id, or the call's own credentials.
func (m *Mock) target(c *call) *session {
	if tok := str(c.params, "access_token"); tok != "" {
		s, _ := m.byToken(tok)
		return s
	}
	if sid := str(c.params, "session_id"); sid != "" {
		return m.sess.bySession[sid]
	}
	if tok, ok := strings.CutPrefix(c.r.Header.Get("Authorization"), "Bearer "); ok {
		s, _ := m.byToken(strings.TrimSpace(tok))
		return s
	}
	if sid := str(c.authInfo, "session_id"); sid != "" {
		return m.sess.bySession[sid]
	}
	return nil
}

// sessionPing answers user_id: the session's i_user while it is valid, 0
// when not (a ping is a question, not a fault).
func (m *Mock) sessionPing(c *call) (any, *Fault) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.target(c); s != nil {
		return map[string]any{"user_id": s.iUser}, nil
	}
	return map[string]any{"user_id": 0}, nil
}

func (m *Mock) sessionLogout(c *call) (any, *Fault) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.target(c); s != nil {
		m.logout(s)
	}
	return map[string]any{"success": 1}, nil
}

// idParam reads an id parameter: an integer or a string of digits.
func idParam(c *call, name string) (string, *Fault) {
	v, ok := c.params[name]
	if !ok {
		return "", nil
	}
	n, err := event.ID(v)
	if err != nil {
		return "", fault(FaultBadRequest, "params %s: %v", name, err)
	}
	return fmt.Sprint(n), nil
}

// getAccountInfo answers {"account_info": {…}} for an account an emitted
// event named (a deleted one with bill_status "C"), and {} (no
// account_info) for one that never existed.
func (m *Mock) getAccountInfo(c *call) (any, *Fault) {
	id, f := idParam(c, "i_account")
	if f != nil {
		return nil, f
	}
	if id == "" {
		login := str(c.params, "id")
		if login == "" {
			return nil, fault(FaultBadRequest, "Account/get_account_info needs params i_account or id")
		}
		digits, ok := strings.CutPrefix(login, AccountIDPrefix)
		if !ok {
			return map[string]any{}, nil
		}
		id = digits
	}
	k := entity.Key{Group: entity.Subscriber, ID: id}
	r, ok := m.lookup(k)
	if !ok {
		return map[string]any{}, nil
	}
	return map[string]any{"account_info": m.accountInfo(k, r)}, nil
}

func (m *Mock) getCustomerInfo(c *call) (any, *Fault) {
	id, f := idParam(c, "i_customer")
	if f != nil {
		return nil, f
	}
	if id == "" {
		return nil, fault(FaultBadRequest, "Customer/get_customer_info needs params i_customer")
	}
	k := entity.Key{Group: entity.Customer, ID: id}
	r, ok := m.lookup(k)
	if !ok {
		return map[string]any{}, nil
	}
	return map[string]any{"customer_info": m.customerInfo(k, r)}, nil
}

func (m *Mock) getInvoiceInfo(c *call) (any, *Fault) {
	id, f := idParam(c, "i_invoice")
	if f != nil {
		return nil, f
	}
	if id == "" {
		return nil, fault(FaultBadRequest, "Invoice/get_invoice_info needs params i_invoice")
	}
	k := entity.Key{Group: entity.Invoice, ID: id}
	r, ok := m.lookup(k)
	if !ok {
		return map[string]any{}, nil
	}
	return map[string]any{"invoice_info": invoiceInfo(k, r)}, nil
}

// getNumberList answers the DID with that number in number_list; a
// deleted DID, or one never emitted, is not in the list.
func (m *Mock) getNumberList(c *call) (any, *Fault) {
	number := str(c.params, "number")
	if number == "" {
		return nil, fault(FaultBadRequest, "DID/get_number_list needs params number")
	}
	list := []any{}
	k := entity.Key{Group: entity.DID, ID: number}
	if r, ok := m.lookup(k); ok && r.st.Exists {
		list = append(list, didInfo(k, r))
	}
	return map[string]any{"number_list": list}, nil
}
