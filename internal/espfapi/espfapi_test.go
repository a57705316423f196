package espfapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espfapi"
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
