package sign

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Basic is "Basic " + base64(user:password). Several user/password pairs may
// verify; the first one signs.
type Basic struct {
	header    string
	users     [][]byte
	passwords [][]byte
}

func newBasic(cfg Config, hdr string) (*Basic, error) {
	users, err := pair(SchemeBasic, "user", cfg.Users, cfg.Passwords)
	if err != nil {
		return nil, err
	}
	b := &Basic{header: hdr}
	for i, u := range users {
		if u == "" {
			return nil, fmt.Errorf("basic: user #%d is empty", i+1)
		}
		if strings.Contains(u, ":") {
			// Not quoted: "u:pw" given as a user is a password in the making.
			return nil, fmt.Errorf("basic: user #%d contains a colon (not shown: what follows it may be a password); the receiver splits user:password at the first colon", i+1)
		}
		b.users = append(b.users, []byte(u))
		b.passwords = append(b.passwords, []byte(cfg.Passwords[i]))
	}
	return b, nil
}

func (b *Basic) Scheme() string { return SchemeBasic }
func (b *Basic) Header() string { return b.header }

// Value is the header value the first pair produces.
func (b *Basic) Value() string {
	cred := make([]byte, 0, len(b.users[0])+1+len(b.passwords[0]))
	cred = append(append(append(cred, b.users[0]...), ':'), b.passwords[0]...)
	return "Basic " + base64.StdEncoding.EncodeToString(cred)
}

func (b *Basic) Sign(h http.Header, _ []byte, now time.Time) error {
	setDate(h, now)
	h.Set(b.header, b.Value())
	return nil
}

func (b *Basic) Verify(h http.Header, body []byte, now time.Time) error {
	return b.verify(h, nil)
}

func (b *Basic) Explain(h http.Header, body []byte, now time.Time) *Result {
	r := &Result{Scheme: SchemeBasic, Header: b.header}
	return r.finish(b.verify(h, r))
}

func (b *Basic) verify(h http.Header, r *Result) error {
	v, err := authValue(h, b.header, r)
	if err != nil {
		return err
	}
	enc, err := splitScheme(v, "Basic", r)
	if err != nil {
		return err
	}
	enc = strings.TrimSpace(enc)
	var buf [96]byte // decoded credentials of usual length stay on the stack
	var raw []byte
	if n := base64.StdEncoding.DecodedLen(len(enc)); n > len(buf) {
		raw = make([]byte, n)
	} else {
		raw = buf[:n]
	}
	n, err := base64.StdEncoding.Decode(raw, []byte(enc))
	if err != nil {
		return r.fail("credentials", "", "", fmt.Errorf("%w: credentials are not standard padded base64: %v", ErrMalformed, err))
	}
	user, pass, ok := bytes.Cut(raw[:n], []byte{':'})
	if !ok {
		return r.fail("credentials", "user:password", "no colon", fmt.Errorf("%w: decoded credentials have no colon between user and password", ErrMalformed))
	}
	// Compare every pair in full so that timing does not reveal which part differed.
	userOK, passOK := false, false
	for i := range b.users {
		u := hmac.Equal(user, b.users[i])
		p := hmac.Equal(pass, b.passwords[i])
		userOK = userOK || u
		passOK = passOK || (u && p)
	}
	if !userOK {
		got := string(user)
		return r.fail("user", string(b.users[0]), got, fmt.Errorf("%w: user %q is not a configured user", ErrMismatch, got))
	}
	if r != nil {
		r.pass("user", string(user), "")
	}
	if !passOK {
		return r.fail("password", "", "", fmt.Errorf("%w: wrong password for user %q", ErrMismatch, string(user)))
	}
	r.pass("password", "", "matches a configured password, not shown")
	return nil
}
