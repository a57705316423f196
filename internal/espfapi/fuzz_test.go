package espfapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/espfapi"
)

// FuzzStatusCallback feeds arbitrary status-callback bodies (form-encoded,
// JSON or anything) to the ESPF API mock: it never panics, answers 200 or
// 400 (never 5xx) with a JSON body, and a 200 records a valid status and a
// group, with a message within the documented limit.
//
//	go test -run '^$' -fuzz FuzzStatusCallback -fuzztime 60s ./internal/espfapi
func FuzzStatusCallback(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "status=OK&group=HSS"},
		{"application/x-www-form-urlencoded", "status=FAILED&group=VoIP&message=no+line"},
		{"", "status=RETRY&group=PCRF&message=%ff%fe"},
		{"application/json", `{"status":"IN_PROGRESS","group":"IPTV","message":"café"}`},
		{"application/json; charset=utf-8", `{"status":"OK","group":" "}`},
		{"application/json", `{"status":1}`},
		{"text/plain", "status=OK&group=HSS"},
		{"application/x-www-form-urlencoded", "status=OK&group=HSS&status=FAILED;%zz"},
		{"multipart/form-data; boundary=x", "--x--"},
		{"application/json", `{"status":"OK","group":"HSS","message":"` + strings.Repeat("é", espfapi.MaxMessage+1) + `"}`},
	} {
		f.Add(s.ct, s.body, "i/1000889")
	}
	f.Add("application/json", `{"status":"OK","group":"HSS"}`, "acc-1")
	f.Fuzz(func(t *testing.T, ct, body, account string) {
		m := espfapi.New(espfapi.Config{})
		req := httptest.NewRequest(http.MethodPost, "/espf/v1/account/x/status", strings.NewReader(body))
		req.URL.Path = "/espf/v1/account/" + account + "/status"
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		m.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest:
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("answer %d with a body that is not JSON: %q", w.Code, w.Body)
			}
		case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			return // the path did not name a status route
		default:
			t.Fatalf("answer %d to content type %q, body %q", w.Code, ct, body)
		}
		accts, rejected := m.Accounts()
		if w.Code == http.StatusBadRequest {
			if rejected != 1 || len(accts) != 0 {
				t.Fatalf("a 400 left %d accounts and %d rejected", len(accts), rejected)
			}
			return
		}
		if len(accts) != 1 || rejected != 0 {
			t.Fatalf("a 200 left %d accounts and %d rejected", len(accts), rejected)
		}
		a := accts[0]
		if !slices.Contains(espfapi.Statuses, a.Status) || strings.TrimSpace(a.Group) == "" || utf8.RuneCountInString(a.Message) > espfapi.MaxMessage {
			t.Fatalf("a 200 recorded %+v from content type %q, body %q", a, ct, body)
		}
	})
}
