package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
)

// The small Applications the lifecycle tests run against. Each checks the
// delivery credentials, answers the first attempt of every Created with
// 503 (so the ESPF re-sends it, and the entity's later events overtake it),
// keeps a table of entities its own way, and answers GET
// /state/{group}/{id} with {"exists": …, "i_event": …} or 404, as
// --state-url expects.

// design is how an Application applies an event to its table.
type design int

const (
	arrivalOrder design = iota // applies every event as it arrives: wrong
	byIEvent                   // design (b): applies only a newer i_event, keeps tombstones
	readBack                   // design (a): reads the entity from the PortaBilling API on every event
)

type row struct {
	exists bool
	iEvent int64
}

type lifecycleApp struct {
	t      *testing.T
	design design
	auth   sign.Auth
	api    string // the PortaBilling API mock's URL, for readBack
	client *http.Client

	loginMu sync.Mutex // one Session/login, as a client library shares its session
	mu      sync.Mutex
	rows    map[string]row
	failed  map[string]bool // entities whose first Created was answered 503
	token   string
	reads   int
	answers map[int]int
}

func newLifecycleApp(t *testing.T, d design, api string) *lifecycleApp {
	t.Helper()
	auth, err := sign.New(sign.Config{Scheme: sign.SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"s3cret"}, MaxSkew: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return &lifecycleApp{t: t, design: d, auth: auth, api: api, client: &http.Client{}, // no timeout: only the test's -timeout bounds a call
		rows: map[string]row{}, failed: map[string]bool{}, answers: map[int]int{}}
}

func (a *lifecycleApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := a.auth.Verify(r.Header, body, time.Now()); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/state/") {
		a.state(w, strings.TrimPrefix(r.URL.Path, "/state/"))
		return
	}
	ev, err := event.Decode(body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	k, act, ok := entity.Of(ev.Type, ev.Variables)
	if !ok {
		w.WriteHeader(http.StatusOK) // not an entity this Application keeps
		return
	}
	n, _ := ev.IEvent()
	code := a.apply(k, act, n)
	a.mu.Lock()
	a.answers[code]++
	a.mu.Unlock()
	w.WriteHeader(code)
}

func (a *lifecycleApp) apply(k entity.Key, act entity.Action, n int64) int {
	a.mu.Lock()
	if act == entity.Created && !a.failed[k.String()] {
		a.failed[k.String()] = true
		a.mu.Unlock()
		return http.StatusServiceUnavailable
	}
	a.mu.Unlock()
	if a.design == readBack {
		exists, err := a.read(k)
		if err != nil {
			a.t.Logf("read %s back: %v", k, err)
			return http.StatusServiceUnavailable
		}
		a.mu.Lock()
		a.rows[k.String()] = row{exists: exists}
		a.mu.Unlock()
		return http.StatusOK
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, seen := a.rows[k.String()]
	switch {
	case a.design == byIEvent && seen && n <= cur.iEvent:
		// older than what was applied: answered 200, not applied
	case act == entity.Deleted && a.design == arrivalOrder:
		delete(a.rows, k.String())
	case act == entity.Deleted:
		a.rows[k.String()] = row{exists: false, iEvent: n} // a tombstone
	default:
		a.rows[k.String()] = row{exists: true, iEvent: n}
	}
	return http.StatusOK
}

func (a *lifecycleApp) state(w http.ResponseWriter, key string) {
	a.mu.Lock()
	r, ok := a.rows[key]
	a.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	ans := map[string]any{"exists": r.exists}
	if a.design != readBack {
		ans["i_event"] = r.iEvent
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ans)
}

// readMethods is how each group is read: method, parameter, answer key.
var readMethods = map[entity.Group][3]string{
	entity.Subscriber: {"Account/get_account_info", "i_account", "account_info"},
	entity.Customer:   {"Customer/get_customer_info", "i_customer", "customer_info"},
	entity.Invoice:    {"Invoice/get_invoice_info", "i_invoice", "invoice_info"},
	entity.DID:        {"DID/get_number_list", "number", "number_list"},
}

// read asks the PortaBilling API mock whether the entity exists now, as a
// client library does: log in once, then Bearer and {"params": …}.
func (a *lifecycleApp) read(k entity.Key) (bool, error) {
	a.loginMu.Lock()
	a.mu.Lock()
	tok := a.token
	a.reads++
	a.mu.Unlock()
	if tok == "" {
		ans, err := a.rest("Session/login", map[string]any{"login": "app", "password": "api-pw"}, "")
		if err != nil {
			a.loginMu.Unlock()
			return false, err
		}
		tok, _ = ans["access_token"].(string)
		a.mu.Lock()
		a.token = tok
		a.mu.Unlock()
	}
	a.loginMu.Unlock()
	m := readMethods[k.Group]
	method, param, key := m[0], m[1], m[2]
	ans, err := a.rest(method, map[string]any{param: k.ID}, tok)
	if err != nil {
		return false, err
	}
	switch info := ans[key].(type) {
	case map[string]any:
		return info["bill_status"] != "C", nil
	case []any:
		return len(info) > 0, nil
	}
	return false, nil
}

func (a *lifecycleApp) rest(method string, params map[string]any, tok string) (map[string]any, error) {
	b, _ := json.Marshal(map[string]any{"params": params})
	req, _ := http.NewRequest(http.MethodPost, a.api+"/rest/"+method, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var ans map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d %v", method, resp.StatusCode, ans)
	}
	return ans, nil
}
