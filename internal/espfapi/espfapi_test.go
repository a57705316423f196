package espfapi_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/testutil"
)

func TestStatusCalls(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := espfapi.New(espfapi.Config{Token: "tok", Now: func() time.Time { return now }})
	srv := httptest.NewServer(m)
	defer srv.Close()
	long := strings.Repeat("é", 4001)
	tests := []struct {
		name, path, ctype, body, auth string
		code                          int
		says                          string
	}{
		{"form ok", "/espf/v1/account/i/1000889/status", "application/x-www-form-urlencoded", "status=IN_PROGRESS&group=HSS", "Bearer tok", 200, "success"},
		{"json ok", "/espf/v1/account/i/1000889/status", "application/json", `{"status":"OK","group":"HSS","message":"done"}`, "Bearer tok", 200, "success"},
		{"by id", "/espf/v1/account/alice/status", "application/json", `{"status":"FAILED","group":"IPTV"}`, "Bearer tok", 200, "success"},
		{"retry ok", "/espf/v1/account/bob/status", "", "status=RETRY&group=PCRF", "Bearer tok", 200, "success"},
		{"bad status", "/espf/v1/account/i/1/status", "application/json", `{"status":"DONE","group":"HSS"}`, "Bearer tok", 400, `status \"DONE\"`},
		{"no status no group", "/espf/v1/account/i/1/status", "application/x-www-form-urlencoded", "message=x", "Bearer tok", 400, "group is mandatory"},
		{"message too long", "/espf/v1/account/i/1/status", "application/x-www-form-urlencoded", "status=OK&group=HSS&message=" + long, "Bearer tok", 400, "4001 characters"},
		{"not json", "/espf/v1/account/i/1/status", "application/json", `status=OK`, "Bearer tok", 400, "not a JSON object"},
		{"i_account not a number", "/espf/v1/account/i/abc/status", "application/json", `{"status":"OK","group":"HSS"}`, "Bearer tok", 400, "integer"},
		{"no auth", "/espf/v1/account/i/1/status", "application/json", `{"status":"OK","group":"HSS"}`, "", 401, "credentials"},
		{"wrong token", "/espf/v1/account/i/1/status", "application/json", `{"status":"OK","group":"HSS"}`, "Bearer nope", 401, "credentials"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+tt.path, strings.NewReader(tt.body))
		if tt.ctype != "" {
			req.Header.Set("Content-Type", tt.ctype)
		}
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tt.name, resp.StatusCode, b, tt.code, tt.says)
		}
	}
	m.Delivered("i_account=1000889", now.Add(-1500*time.Millisecond))
	accts, rejected := m.Accounts()
	if rejected != 7 {
		t.Errorf("rejected %d calls, want 7", rejected)
	}
	if len(accts) != 3 {
		t.Fatalf("accounts %+v, want 3", accts)
	}
	a := accts[0] // sorted: "i_account=…" before "id=…"
	if a.Account != "i_account=1000889" || a.Status != "OK" || a.Calls != 2 || a.SinceDeliveryMS == nil || *a.SinceDeliveryMS != 1500 {
		t.Errorf("account %+v: want OK after 2 calls, 1500ms after delivery", a)
	}
}

// TestBodyLimitAndTimeout: a body over MaxBody is refused with 413, and a
// body that stalls is cut off after the body timeout instead of holding
// the connection.
func TestBodyLimitAndTimeout(t *testing.T) {
	t.Parallel()
	m := espfapi.New(espfapi.Config{BodyTimeout: 200 * time.Millisecond})
	srv := httptest.NewServer(m)
	defer srv.Close()
	big := strings.NewReader("status=OK&group=HSS&message=" + strings.Repeat("x", espfapi.MaxBody))
	resp, err := http.Post(srv.URL+"/espf/v1/account/i/1/status", "application/x-www-form-urlencoded", big)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "larger than") {
		t.Errorf("oversized body: %d %s, want 413", resp.StatusCode, b)
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /espf/v1/account/i/1/status HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"status\":")
	conn.SetReadDeadline(testutil.Deadline(t)) // a hung server fails at the test's -timeout
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("a stalled body was not cut off: %v", err)
	}
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "timeout") {
		t.Errorf("stalled body: %d %s, want 400 naming the timeout", resp.StatusCode, b)
	}
	if _, rejected := m.Accounts(); rejected != 2 {
		t.Errorf("%d rejected calls counted, want 2", rejected)
	}
}
