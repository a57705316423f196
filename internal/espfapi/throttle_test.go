package espfapi_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espfapi"
)

// fromAddr is a client whose connections come from the loopback address ip.
func fromAddr(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// login calls Session/login from c and returns the status, the
// faultstring ("" for a 200) and the Retry-After header.
func login(t *testing.T, c *http.Client, base, password string) (int, string, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"params": map[string]string{"login": "app", "password": password}})
	resp, err := c.Post(base+"/rest/Session/login", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var ans struct {
		String string `json:"faultstring"`
	}
	_ = json.Unmarshal(body, &ans)
	return resp.StatusCode, ans.String, resp.Header.Get("Retry-After")
}

// TestFailedLoginsSlowedDown: after 5 wrong passwords from one address,
// every further login from it is refused for a while (the right password
// too), growing with each failure, and the answers say so, with
// Retry-After; another address is not affected; once the lockout has
// passed, the right password logs in and the count starts afresh.
func TestFailedLoginsSlowedDown(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	m := espfapi.New(espfapi.Config{Login: "app", Password: "right-pw", Now: clk.now})
	srv := httptest.NewServer(m)
	defer srv.Close()
	guesser, other := fromAddr("127.0.0.1"), fromAddr("127.0.0.2")
	for i := range 5 {
		if st, msg, retry := login(t, guesser, srv.URL, "guess"); st != 500 || msg != "wrong login, password or token" || retry != "" {
			t.Fatalf("wrong password %d: %d %q (Retry-After %q), want a plain fault", i+1, st, msg, retry)
		}
	}
	st, msg, retry := login(t, guesser, srv.URL, "guess")
	if st != 500 || !strings.Contains(msg, "too many failed logins from 127.0.0.1") || retry != "1" {
		t.Fatalf("6th wrong password: %d %q (Retry-After %q), want it to say logins are refused for 1s", st, msg, retry)
	}
	// Locked out: even the right password is refused, and says so.
	if st, msg, retry := login(t, guesser, srv.URL, "right-pw"); st != 500 || !strings.Contains(msg, "refused for 1s more") || retry != "1" {
		t.Errorf("the right password while locked out: %d %q (Retry-After %q), want it refused", st, msg, retry)
	}
	// A guesser that keeps going is refused for longer each time.
	clk.add(time.Second)
	if _, msg, retry := login(t, guesser, srv.URL, "guess"); !strings.Contains(msg, "refused for 2s") || retry != "2" {
		t.Errorf("7th wrong password: %q (Retry-After %q), want 2s", msg, retry)
	}
	clk.add(2 * time.Second)
	if _, msg, retry := login(t, guesser, srv.URL, "guess"); !strings.Contains(msg, "refused for 4s") || retry != "4" {
		t.Errorf("8th wrong password: %q (Retry-After %q), want 4s", msg, retry)
	}
	// Another address logs in meanwhile.
	if st, msg, _ := login(t, other, srv.URL, "right-pw"); st != 200 {
		t.Errorf("another address: %d %q, want 200", st, msg)
	}
	clk.add(4 * time.Second)
	if st, msg, _ := login(t, guesser, srv.URL, "right-pw"); st != 200 {
		t.Errorf("the right password after the lockout: %d %q, want 200", st, msg)
	}
	if st, msg, _ := login(t, guesser, srv.URL, "guess"); st != 500 || msg != "wrong login, password or token" {
		t.Errorf("a wrong password after a login: %d %q, want a plain fault (the count starts afresh)", st, msg)
	}
	// 3,000 guesses as fast as they go (the clock stands still): all but
	// the first 5 are refused without being checked.
	checked := 0
	for range 3000 {
		if _, msg, _ := login(t, other, srv.URL, "guess"); msg == "wrong login, password or token" {
			checked++
		}
	}
	if checked > 5 {
		t.Errorf("%d of 3,000 rapid guesses were checked, want at most 5", checked)
	}
}

// TestOpenMockListensOnLoopbackOnly: a mock without credentials is refused
// on an address other machines can reach; with credentials, or on
// loopback, it is allowed.
func TestOpenMockListensOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	open, closed := espfapi.Config{}, espfapi.Config{Token: "t"}
	for _, tt := range []struct {
		listen string
		cfg    espfapi.Config
		ok     bool
	}{
		{"0.0.0.0:8181", open, false}, {":8181", open, false}, {"[::]:8181", open, false}, {"10.0.0.5:8181", open, false},
		{"api.example:8181", open, false},
		{"127.0.0.1:8181", open, true}, {"[::1]:0", open, true}, {"localhost:8181", open, true},
		{"0.0.0.0:8181", closed, true}, {"0.0.0.0:8181", espfapi.Config{Login: "a", Password: "p"}, true},
	} {
		err := espfapi.CheckListen(tt.listen, tt.cfg)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, espfapi.ErrOpenBeyondLoopback)) {
			t.Errorf("CheckListen(%q, token %q login %q) = %v, want allowed %t", tt.listen, tt.cfg.Token, tt.cfg.Login, err, tt.ok)
		}
	}
}
