package espfapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/event"
)

// api is a test client of the mock's /rest/ methods.
type api struct {
	t      *testing.T
	base   string
	client *http.Client
}

// call POSTs {"params": params} (JSON), with a Bearer token when given,
// and returns the status and the decoded answer.
func (a api) call(method string, params any, bearer string) (int, map[string]any) {
	a.t.Helper()
	b, _ := json.Marshal(map[string]any{"params": params})
	req, _ := http.NewRequest(http.MethodPost, a.base+"/rest/"+method, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return a.do(req)
}

// form POSTs params and auth_info as form-encoded JSON strings.
func (a api) form(method string, params, authInfo any) (int, map[string]any) {
	a.t.Helper()
	v := url.Values{}
	p, _ := json.Marshal(params)
	v.Set("params", string(p))
	if authInfo != nil {
		ai, _ := json.Marshal(authInfo)
		v.Set("auth_info", string(ai))
	}
	req, _ := http.NewRequest(http.MethodPost, a.base+"/rest/"+method, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return a.do(req)
}

func (a api) do(req *http.Request) (int, map[string]any) {
	a.t.Helper()
	c := a.client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		a.t.Fatalf("%s: answer %d %q is not a JSON object", req.URL.Path, resp.StatusCode, body)
	}
	return resp.StatusCode, out
}

// fc calls method and returns its faultcode, "" for a 200.
func (a api) fc(method string, params any, bearer string) string {
	a.t.Helper()
	code, ans := a.call(method, params, bearer)
	return faultCode(a.t, code, ans)
}

// ffc is fc, form-encoded.
func (a api) ffc(method string, params, authInfo any) string {
	a.t.Helper()
	code, ans := a.form(method, params, authInfo)
	return faultCode(a.t, code, ans)
}

// faultCode is the faultcode of an HTTP 500 fault, or "" for a 200.
func faultCode(t *testing.T, code int, ans map[string]any) string {
	t.Helper()
	switch code {
	case http.StatusOK:
		return ""
	case http.StatusInternalServerError:
		fc, _ := ans["faultcode"].(string)
		if fc == "" || ans["faultstring"] == "" {
			t.Fatalf("fault without faultcode/faultstring: %v", ans)
		}
		return fc
	}
	t.Fatalf("HTTP %d %v: want 200 or a 500 fault", code, ans)
	return ""
}

// claims decodes a JWT's payload as a client library does, without
// checking the signature.
func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q is not a JWT", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return c
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestSession(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	m := espfapi.New(espfapi.Config{Login: "admin", Password: "pw:with:colons", Token: "static-tok", TokenTTL: 10 * time.Minute, IEnv: 3, Now: clk.now})
	srv := httptest.NewServer(m)
	defer srv.Close()
	a := api{t: t, base: srv.URL}
	m.Emitted(item(t, "Subscriber/Created", `"i_account":1000889`, 1))

	// a wrong password, a missing password, an unknown login
	for _, p := range []map[string]any{{"login": "admin", "password": "nope"}, {"login": "root", "password": "pw:with:colons"}, {"login": "admin", "token": "nope"}} {
		if fc := a.fc("Session/login", p, ""); fc != espfapi.FaultLoginFailed {
			t.Errorf("login %v: fault %q, want %s", p["login"], fc, espfapi.FaultLoginFailed)
		}
	}
	if fc := a.fc("Session/login", map[string]any{"login": "admin"}, ""); fc != espfapi.FaultBadRequest {
		t.Errorf("login without password: %q", fc)
	}
	code, ans := a.call("Session/login", map[string]any{"login": "admin", "password": "pw:with:colons"}, "")
	if faultCode(t, code, ans) != "" {
		t.Fatal(ans)
	}
	tok, _ := ans["access_token"].(string)
	c := claims(t, tok)
	exp := clk.now().Add(10 * time.Minute)
	if c["exp"] != float64(exp.Unix()) || c["iat"] != float64(clk.now().Unix()) || c["login"] != "admin" || c["i_env"] != 3.0 || c["i_user"] != 1.0 {
		t.Errorf("JWT claims %v: want exp, iat, login, i_env 3, i_user 1", c)
	}
	if ans["expires_at"] != exp.Format("2006-01-02 15:04:05") || ans["refresh_token"] == "" || ans["session_id"] == "" {
		t.Errorf("login answer %v", ans)
	}
	read := func(bearer string) string {
		t.Helper()
		code, ans := a.call("Account/get_account_info", map[string]any{"i_account": 1000889}, bearer)
		if fc := faultCode(t, code, ans); fc != "" {
			return fc
		}
		if ans["account_info"] == nil {
			t.Fatalf("no account_info: %v", ans)
		}
		return ""
	}
	if fc := read(tok); fc != "" {
		t.Fatalf("read with the access token: %s", fc)
	}
	if fc := read(""); fc != espfapi.FaultAuthFailed {
		t.Errorf("read without credentials: %q, want %s", fc, espfapi.FaultAuthFailed)
	}
	if fc := read("static-tok"); fc != "" {
		t.Errorf("read with the static token: %q", fc)
	}
	if fc := read(tok[:len(tok)-2] + "xx"); fc != espfapi.FaultAuthFailed {
		t.Errorf("read with a forged token: %q", fc)
	}
	if _, ans := a.call("Session/ping", map[string]any{"access_token": tok}, ""); ans["user_id"] != 1.0 {
		t.Errorf("ping %v, want user_id 1", ans)
	}
	// the same session through form-encoded auth_info, as older clients send
	code, ans2 := a.form("Account/get_account_info", map[string]any{"i_account": "1000889"}, map[string]any{"session_id": ans["session_id"]})
	if faultCode(t, code, ans2) != "" || ans2["account_info"] == nil {
		t.Errorf("form-encoded with session_id: %d %v", code, ans2)
	}
	code, ans2 = a.form("Account/get_account_info", map[string]any{"i_account": 1000889}, map[string]any{"login": "admin", "password": "pw:with:colons"})
	if faultCode(t, code, ans2) != "" {
		t.Errorf("auth_info with login and password: %v", ans2)
	}
	if fc := a.ffc("Account/get_account_info", map[string]any{"i_account": 1}, map[string]any{"session_id": "nope"}); fc != espfapi.FaultAuthFailed {
		t.Errorf("unknown session_id: %q", fc)
	}

	// expiry: clients read exp and refresh; an expired token is refused
	clk.add(11 * time.Minute)
	if fc := read(tok); fc != espfapi.FaultAuthFailed {
		t.Errorf("expired token: %q", fc)
	}
	code, ref := a.call("Session/refresh_access_token", map[string]any{"refresh_token": ans["refresh_token"]}, "")
	if faultCode(t, code, ref) != "" {
		t.Fatal(ref)
	}
	tok2, _ := ref["access_token"].(string)
	if tok2 == tok || ref["session_id"] != ans["session_id"] || claims(t, tok2)["exp"] != float64(clk.now().Add(10*time.Minute).Unix()) {
		t.Errorf("refresh %v: want a new token in the same session, expiring 10 minutes from now", ref)
	}
	if fc := read(tok2); fc != "" {
		t.Errorf("read after refresh: %q", fc)
	}
	// logout ends the session: its token, its session_id, its refresh token
	if _, out := a.call("Session/logout", map[string]any{}, tok2); out["success"] != 1.0 {
		t.Errorf("logout %v", out)
	}
	if fc := read(tok2); fc != espfapi.FaultAuthFailed {
		t.Errorf("read after logout: %q", fc)
	}
	if _, out := a.call("Session/ping", map[string]any{"access_token": tok2}, ""); out["user_id"] != 0.0 {
		t.Errorf("ping after logout %v, want user_id 0", out)
	}
	if fc := a.fc("Session/refresh_access_token", map[string]any{"refresh_token": ans["refresh_token"]}, ""); fc != espfapi.FaultAuthFailed {
		t.Errorf("refresh after logout: %q", fc)
	}
	// login with the API token instead of a password
	code, ans = a.call("Session/login", map[string]any{"login": "admin", "token": "static-tok"}, "")
	if faultCode(t, code, ans) != "" {
		t.Errorf("login with token: %v", ans)
	}

	calls := map[string]espfapi.MethodCalls{}
	for _, c := range m.Calls() {
		calls[c.Method] = c
	}
	if c := calls["Session/login"]; c.Calls != 6 || c.Faults != 4 {
		t.Errorf("Session/login counted %+v, want 6 calls, 4 faults", c)
	}
	if c := calls["Account/get_account_info"]; c.Calls != 10 || c.Faults != 5 {
		t.Errorf("Account/get_account_info counted %+v, want 10 calls, 5 faults", c)
	}
}

func item(t *testing.T, typ, vars string, iEvent int64) event.Item {
	t.Helper()
	body := fmt.Sprintf(`{"event_type":%q,"variables":{%s,"i_event":%d}}`, typ, vars, iEvent)
	ev, err := event.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return event.Item{IEvent: iEvent, Type: typ, Entity: ev.Entity(), Body: []byte(body)}
}

// TestReadsFollowEmission: the reads answer what PortaBilling holds at the
// moment of the call: an entity exists from its event's emission, each
// Updated changes a documented field, a deleted account or customer is
// closed, a deleted DID is gone.
func TestReadsFollowEmission(t *testing.T) {
	t.Parallel()
	m := espfapi.New(espfapi.Config{})
	srv := httptest.NewServer(m)
	defer srv.Close()
	a := api{t: t, base: srv.URL}
	info := func(method, key string, params map[string]any) map[string]any {
		t.Helper()
		code, ans := a.call(method, params, "")
		if fc := faultCode(t, code, ans); fc != "" {
			t.Fatalf("%s %v: fault %s %v", method, params, fc, ans)
		}
		v, _ := ans[key].(map[string]any)
		return v
	}
	acct := func() map[string]any {
		return info("Account/get_account_info", "account_info", map[string]any{"i_account": 1000889})
	}
	if got := acct(); got != nil {
		t.Fatalf("before its Created was emitted the account reads %v, want no account_info", got)
	}
	m.Emitted(item(t, "Subscriber/Created", `"i_account":1000889`, 17))
	a0 := acct()
	if a0["bill_status"] != "O" || a0["blocked"] != "N" || a0["i_account"] != 1000889.0 || a0["id"] != "acct-1000889" {
		t.Errorf("created account %v", a0)
	}
	m.Emitted(item(t, "Subscriber/Updated", `"i_account":1000889`, 23))
	m.Emitted(item(t, "Account/Blocked", `"i_account":1000889`, 24))
	a1 := acct()
	if a1["balance"] == a0["balance"] || a1["blocked"] != "Y" {
		t.Errorf("after Updated and Blocked the account reads %v, was %v: want balance changed, blocked Y", a1, a0)
	}
	if byID := info("Account/get_account_info", "account_info", map[string]any{"id": "acct-1000889"}); byID["i_account"] != 1000889.0 {
		t.Errorf("by id: %v", byID)
	}
	m.Emitted(item(t, "Subscriber/Deleted", `"i_account":1000889`, 41))
	m.Emitted(item(t, "Subscriber/Updated", `"i_account":1000889`, 30)) // an older event cannot reopen it
	if a2 := acct(); a2["bill_status"] != "C" {
		t.Errorf("deleted account reads %v, want bill_status C", a2)
	}

	m.Emitted(item(t, "Customer/Created", `"i_customer":42`, 50))
	m.Emitted(item(t, "Invoice/Created", `"i_customer":42,"i_invoice":9`, 51))
	m.Emitted(item(t, "Invoice/Updated", `"i_customer":42,"i_invoice":9`, 52))
	if inv := info("Invoice/get_invoice_info", "invoice_info", map[string]any{"i_invoice": "9"}); inv["i_customer"] != 42.0 || inv["amount_due"] != 10.0 {
		t.Errorf("invoice %v: want i_customer 42, amount_due changed by its Updated", inv)
	}
	m.Emitted(item(t, "Customer/Deleted", `"i_customer":42`, 53))
	if c := info("Customer/get_customer_info", "customer_info", map[string]any{"i_customer": 42}); c["bill_status"] != "C" {
		t.Errorf("deleted customer %v", c)
	}
	if c := info("Customer/get_customer_info", "customer_info", map[string]any{"i_customer": 43}); c != nil {
		t.Errorf("a customer that never existed reads %v", c)
	}

	numbers := func() []any {
		t.Helper()
		_, ans := a.call("DID/get_number_list", map[string]any{"number": "15551000000"}, "")
		l, ok := ans["number_list"].([]any)
		if !ok {
			t.Fatalf("no number_list: %v", ans)
		}
		return l
	}
	if l := numbers(); len(l) != 0 {
		t.Errorf("DID before emission: %v", l)
	}
	m.Emitted(item(t, "DID/Created", `"number":"15551000000"`, 60))
	l := numbers()
	if len(l) != 1 || l[0].(map[string]any)["number"] != "15551000000" || l[0].(map[string]any)["i_did_number"] == nil {
		t.Errorf("DID after Created: %v", l)
	}
	m.Emitted(item(t, "DID/Deleted", `"number":"15551000000"`, 61))
	if l := numbers(); len(l) != 0 {
		t.Errorf("deleted DID still listed: %v", l)
	}
	if m.Entities() != 4 {
		t.Errorf("mock holds %d entities, want 4", m.Entities())
	}
}

func TestRestFaults(t *testing.T) {
	t.Parallel()
	m := espfapi.New(espfapi.Config{})
	srv := httptest.NewServer(m)
	defer srv.Close()
	tests := []struct{ path, ctype, body, code, says string }{
		{"/rest/Account/get_acount_info", "application/json", `{"params":{}}`, espfapi.FaultUnknownMethod, "Account/get_account_info"},
		{"/rest/Account/get_account_info", "application/json", `{"params":`, espfapi.FaultBadRequest, "not a JSON object"},
		{"/rest/Account/get_account_info", "application/json", `{"params":[1]}`, espfapi.FaultBadRequest, "params is not a JSON object"},
		{"/rest/Account/get_account_info", "text/plain", `x`, espfapi.FaultBadRequest, "content type"},
		{"/rest/Account/get_account_info", "application/json", `{"params":{}}`, espfapi.FaultBadRequest, "i_account or id"},
		{"/rest/Account/get_account_info", "application/json", `{"params":{"i_account":"12a"}}`, espfapi.FaultBadRequest, "i_account"},
		{"/rest/DID/get_number_list", "application/x-www-form-urlencoded", `params=%7B%7D`, espfapi.FaultBadRequest, "number"},
	}
	for _, tt := range tests {
		resp, err := http.Post(srv.URL+tt.path, tt.ctype, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		var f espfapi.Fault
		_ = json.NewDecoder(resp.Body).Decode(&f)
		resp.Body.Close()
		if resp.StatusCode != 500 || f.Code != tt.code || !strings.Contains(f.String, tt.says) {
			t.Errorf("%s %s: %d %+v, want 500 %s saying %q", tt.path, tt.body, resp.StatusCode, f, tt.code, tt.says)
		}
	}
	// an open mock takes any login
	code, ans := api{t: t, base: srv.URL}.call("Session/login", map[string]any{"login": "x", "password": "y"}, "")
	if faultCode(t, code, ans) != "" || claims(t, ans["access_token"].(string))["login"] != "x" {
		t.Errorf("open mock login: %v", ans)
	}
}
