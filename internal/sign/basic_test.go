package sign

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func basicValue(cred string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))
}

func TestBasicVerify(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)
	a := mustNew(t, Config{Scheme: SchemeBasic, Users: []string{"EventUser"}, Passwords: []string{"p:ss:word"}})
	rotated := mustNew(t, Config{Scheme: SchemeBasic, Users: []string{"old", "new"}, Passwords: []string{"pw1", "pw2"}})
	oneUserTwoPasswords := mustNew(t, Config{Scheme: SchemeBasic, Users: []string{"u"}, Passwords: []string{"pw1", "pw2"}})
	xauth := mustNew(t, Config{Scheme: SchemeBasic, Users: []string{"u"}, Passwords: []string{"pw"}, HeaderName: "X-Auth"})
	good := basicValue("EventUser:p:ss:word")
	runFailCases(t, []failCase{
		{name: "valid, password with colons split at the first colon", auth: a, header: hdr("Authorization", good), now: now},
		{name: "scheme name is case-insensitive", auth: a, header: hdr("Authorization", "bAsIc "+strings.TrimPrefix(good, "Basic ")), now: now},
		{name: "missing header", auth: a, header: hdr("Date", "x"), now: now, wantErr: ErrMissing, check: "header", msg: "no Authorization header"},
		{name: "empty header", auth: a, header: hdr("Authorization", "  "), now: now, wantErr: ErrMissing, check: "header"},
		{name: "two headers", auth: a, header: hdr("Authorization", good, "Authorization", good), now: now, wantErr: ErrMalformed, check: "header", msg: "2 Authorization headers"},
		{name: "wrong scheme name", auth: a, header: hdr("Authorization", "Bearer "+strings.TrimPrefix(good, "Basic ")), now: now, wantErr: ErrMismatch, check: "scheme", msg: `scheme "Bearer", want "Basic"`},
		{name: "no space after the scheme", auth: a, header: hdr("Authorization", "BasicRXZlbnQ="), now: now, wantErr: ErrMismatch, check: "scheme"},
		{name: "empty credentials", auth: a, header: hdr("Authorization", "Basic "), now: now, wantErr: ErrMissing, check: "scheme", msg: "nothing after the scheme name"},
		{name: "bad base64", auth: a, header: hdr("Authorization", "Basic not*base64"), now: now, wantErr: ErrMalformed, check: "credentials", msg: "not standard padded base64"},
		{name: "unpadded base64", auth: a, header: hdr("Authorization", "Basic dXNlcm5hbWU6c2VjcmV0MQ"), now: now, wantErr: ErrMalformed, check: "credentials"},
		{name: "no colon", auth: a, header: hdr("Authorization", basicValue("EventUserpassword")), now: now, wantErr: ErrMalformed, check: "credentials", msg: "no colon"},
		{name: "wrong user", auth: a, header: hdr("Authorization", basicValue("eventuser:p:ss:word")), now: now, wantErr: ErrMismatch, check: "user", msg: `user "eventuser" is not a configured user`},
		{name: "wrong password", auth: a, header: hdr("Authorization", basicValue("EventUser:p:ss")), now: now, wantErr: ErrMismatch, check: "password", msg: `wrong password for user "EventUser"`},
		{name: "password with a trailing colon", auth: a, header: hdr("Authorization", basicValue("EventUser:p:ss:word:")), now: now, wantErr: ErrMismatch, check: "password"},
		{name: "empty password", auth: a, header: hdr("Authorization", basicValue("EventUser:")), now: now, wantErr: ErrMismatch, check: "password"},
		{name: "rotation: first pair", auth: rotated, header: hdr("Authorization", basicValue("old:pw1")), now: now},
		{name: "rotation: second pair", auth: rotated, header: hdr("Authorization", basicValue("new:pw2")), now: now},
		{name: "rotation: pairs do not cross", auth: rotated, header: hdr("Authorization", basicValue("old:pw2")), now: now, wantErr: ErrMismatch, check: "password"},
		{name: "one user, second password", auth: oneUserTwoPasswords, header: hdr("Authorization", basicValue("u:pw2")), now: now},
		{name: "header name X-Auth", auth: xauth, header: hdr("X-Auth", basicValue("u:pw")), now: now},
		{name: "header name X-Auth ignores Authorization", auth: xauth, header: hdr("Authorization", basicValue("u:pw")), now: now, wantErr: ErrMissing, check: "header", msg: "no X-Auth header"},
	})
}

// TestBasicExplainHidesPasswords: neither the configured nor the received
// password appears anywhere in the explanation.
func TestBasicExplainHidesPasswords(t *testing.T) {
	t.Parallel()
	a := mustNew(t, Config{Scheme: SchemeBasic, Users: []string{"EventUser"}, Passwords: []string{"configured-S3cret"}})
	for _, cred := range []string{"EventUser:received-W0rd", "Intruder:received-W0rd"} {
		r := a.Explain(hdr("Authorization", basicValue(cred)), nil, time.Now())
		if r.Valid {
			t.Fatalf("Explain(%q) valid", cred)
		}
		all := r.Reason
		for _, c := range r.Checks {
			all += "|" + c.Name + "|" + c.Expected + "|" + c.Got + "|" + c.Detail
		}
		for _, secret := range []string{"configured-S3cret", "received-W0rd"} {
			if strings.Contains(all, secret) {
				t.Errorf("Explain(%q) shows the password %q: %s", cred, secret, all)
			}
		}
	}
}

func TestCustomVerify(t *testing.T) {
	t.Parallel()
	now := time.Now()
	a := mustNew(t, Config{Scheme: SchemeCustom, Name: "Plain", Credentials: []string{"passexample"}})
	rotated := mustNew(t, Config{Scheme: SchemeCustom, Name: "Token", Credentials: []string{"old", "new"}})
	runFailCases(t, []failCase{
		{name: "valid", auth: a, header: hdr("Authorization", "Plain passexample"), now: now},
		{name: "scheme name is case-insensitive", auth: a, header: hdr("Authorization", "plain passexample"), now: now},
		{name: "missing header", auth: a, header: hdr(), now: now, wantErr: ErrMissing, check: "header"},
		{name: "two headers", auth: a, header: hdr("Authorization", "Plain passexample", "Authorization", "Plain passexample"), now: now, wantErr: ErrMalformed, check: "header"},
		{name: "wrong scheme name", auth: a, header: hdr("Authorization", "Token passexample"), now: now, wantErr: ErrMismatch, check: "scheme", msg: `scheme "Token", want "Plain"`},
		{name: "credentials alone, no scheme name", auth: a, header: hdr("Authorization", "passexample"), now: now, wantErr: ErrMismatch, check: "scheme", msg: `scheme "(none)"`},
		{name: "empty credentials", auth: a, header: hdr("Authorization", "Plain "), now: now, wantErr: ErrMissing, check: "scheme"},
		{name: "wrong credentials", auth: a, header: hdr("Authorization", "Plain passexamplE"), now: now, wantErr: ErrMismatch, check: "credentials", msg: "credentials do not match"},
		{name: "credentials prefix", auth: a, header: hdr("Authorization", "Plain pass"), now: now, wantErr: ErrMismatch, check: "credentials"},
		{name: "rotation: first", auth: rotated, header: hdr("Authorization", "Token old"), now: now},
		{name: "rotation: second", auth: rotated, header: hdr("Authorization", "Token new"), now: now},
		{name: "rotation: neither", auth: rotated, header: hdr("Authorization", "Token newer"), now: now, wantErr: ErrMismatch, check: "credentials"},
	})
}
