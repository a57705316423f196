package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/testutil"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// TestSendAPIMock: an asynchronous Application reports each account's
// status through the ESPF API mock after answering 200.
func TestSendAPIMock(t *testing.T) {
	t.Parallel()
	// freeAddr's port may be taken by a parallel test before send binds it:
	// try again with another port (only on that error).
	for try := 1; ; try++ {
		if sendAPIMockOnce(t, freeAddr(t)) || try == 3 {
			return
		}
	}
}

func sendAPIMockOnce(t *testing.T, api string) (done bool) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ev, err := event.Decode(b)
		if err != nil {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(200)
		acct, _ := event.ID(ev.Variables["i_account"])
		go func() {
			form := url.Values{"status": {"OK"}, "group": {"HSS"}}
			req, _ := http.NewRequest(http.MethodPost, "http://"+api+"/espf/v1/account/i/"+strings.TrimSpace(jsonNum(acct))+"/status", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer api-secret")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}))
	defer app.Close()
	ios, out, errb := testutil.IO()
	args := sendArgs(app.URL, "--count", "3", "--ids", "5-5", "--json", "--api-listen", api, "--api-token", "api-secret", "--api-wait", "1s")
	if code := run(t.Context(), args, ios); code != exitOK {
		if strings.Contains(errb.String(), "address already in use") {
			return false
		}
		t.Fatalf("exit %d: %s", code, errb)
	}
	var s report.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Accounts) != 1 || s.Accounts[0].Account != "i_account=5" || s.Accounts[0].Status != "OK" ||
		s.Accounts[0].Calls < 1 || s.Accounts[0].SinceDeliveryMS == nil || *s.Accounts[0].SinceDeliveryMS < 0 {
		// --api-wait waits at most 1s, until every delivered account has a
		// status: the first call ends it, later ones may not be counted.
		t.Errorf("accounts %+v, want i_account=5 OK, some time after delivery", s.Accounts)
	}
	if !strings.Contains(errb.String(), "API mock listening on http://"+api) || strings.Contains(errb.String(), "api-secret") {
		t.Errorf("stderr: %s", errb)
	}
	return true
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }
