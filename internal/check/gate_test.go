package check_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

// TestCredentialsFirst: an Application configured with another password
// refuses the first valid event; check stops there, says which scheme and
// credential were refused (never the secret), and grades nothing else.
func TestCredentialsFirst(t *testing.T) {
	c := vectors[sign.SchemeBasic]
	other := c
	other.Passwords = []string{"not-the-one"}
	ref := receiver(t, &other)
	for _, sel := range [][]string{nil, {"3.basic"}, {"2/burst"}} {
		t.Run(strings.Join(sel, ","), func(t *testing.T) {
			rs, err := check.Run(t.Context(), check.Config{URL: "http://app.test/espf", Creds: c, Client: inProcess(ref), Select: sel})
			if !errors.Is(err, check.ErrRefused) {
				t.Fatalf("Run: %v, want ErrRefused", err)
			}
			for _, want := range []string{"basic credentials", `user "username"`, "401 Unauthorized", "Nothing else was graded", "--password"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the refusal %q lacks %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "not-the-one") {
				t.Errorf("the refusal names a password: %q", err)
			}
			for _, r := range rs {
				if r.Grade == check.Pass && r.Requests > 0 {
					t.Errorf("%s graded pass against an Application that refuses the valid credentials", r.ID)
				}
			}
			if sel == nil {
				if n := len(rs); n == 0 || rs[n-1].ID != "1/subscriber" || rs[n-1].Grade != check.Fail {
					t.Errorf("the full run ended with %+v, want 1/subscriber failed, last", rs)
				}
			} else if len(rs) != 0 {
				t.Errorf("--select %v: %d results, want none (the valid event sent first was refused)", sel, len(rs))
			}
		})
	}
}

// TestClockOffDiagnosed: a Signature Application whose clock is 3 hours
// ahead refuses every fresh Date; check finds the offset.
func TestClockOffDiagnosed(t *testing.T) {
	c := vectors[sign.SchemeSignature]
	rc, err := verify.NewReceiver(verify.Config{Auth: mustAuth(t, c), Now: func() time.Time { return time.Now().Add(3 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	_, err = check.Run(t.Context(), check.Config{URL: "http://app.test/espf", Creds: c, Client: inProcess(rc)})
	if !errors.Is(err, check.ErrRefused) || !strings.Contains(err.Error(), "the Application's clock or time zone is 3 hours ahead") {
		t.Fatalf("Run: %v, want ErrRefused with the clock 3 hours off", err)
	}
}

// TestExpMillisecondsDiagnosed: a Bearer Application that reads Exp as
// milliseconds takes every real token for expired; check says why.
func TestExpMillisecondsDiagnosed(t *testing.T) {
	c := vectors[sign.SchemeBearer]
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		parts := strings.Split(tok, ".")
		if !ok || len(parts) != 3 {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		m := hmac.New(sha256.New, []byte(c.Keys[0]))
		m.Write([]byte(parts[0] + "." + parts[1]))
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		var claims struct{ Exp int64 }
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		if !hmac.Equal(sig, m.Sum(nil)) || json.Unmarshal(raw, &claims) != nil || time.UnixMilli(claims.Exp).Before(time.Now()) {
			http.Error(w, "token expired or invalid", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	_, err := check.Run(t.Context(), check.Config{URL: "http://app.test/espf", Creds: c, Client: inProcess(app)})
	if !errors.Is(err, check.ErrRefused) || !strings.Contains(err.Error(), "reads Exp as milliseconds") ||
		!strings.Contains(err.Error(), `"token expired or invalid"`) {
		t.Fatalf("Run: %v, want ErrRefused naming Exp in milliseconds and what the Application said", err)
	}
}
