package espfapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultTokenTTL is an access token's lifetime when Config.TokenTTL is 0.
const DefaultTokenTTL = time.Hour

// ExpiresAtLayout is how Session/login writes expires_at (UTC).
const ExpiresAtLayout = "2006-01-02 15:04:05"

// Faults the API answers, as PortaBilling names them (contract.md §6):
// clients log in again on the check_auth ones.
const (
	FaultLoginFailed   = "Server.Session.auth_failed"            // Session/login with a wrong login, password or token
	FaultAuthFailed    = "Server.Session.check_auth.auth_failed" // no credentials, or an invalid, expired or logged-out session
	FaultBadRequest    = "Client.Request.invalid_params"         // a body or params the mock cannot read, a missing parameter
	FaultUnknownMethod = "Client.Request.unknown_method"         // a Service/method the mock does not have
)

// session is one Session/login.
type session struct {
	id      string // session_id
	login   string
	iUser   int64
	access  string // the current access token
	refresh string
	exp     time.Time // the access token's expiry
}

// sessions is the mock's login state; the Mock's lock guards it.
type sessions struct {
	key       []byte // signs the access tokens (HS256)
	bySession map[string]*session
	byAccess  map[string]*session
	byRefresh map[string]*session
	users     map[string]int64 // login -> i_user
}

func newSessions() sessions {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return sessions{key: key, bySession: map[string]*session{}, byAccess: map[string]*session{},
		byRefresh: map[string]*session{}, users: map[string]int64{}}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkLogin tells whether login and password (or token) are the mock's
// credentials; an open mock accepts any.
func (m *Mock) checkLogin(login, password, token string) bool {
	if m.open() {
		return login != "" && (password != "" || token != "")
	}
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	if m.cfg.Login != "" && !eq(login, m.cfg.Login) {
		return false
	}
	switch {
	case password != "":
		return m.cfg.Password != "" && eq(password, m.cfg.Password)
	case token != "":
		return m.cfg.Token != "" && eq(token, m.cfg.Token)
	}
	return false
}

// login opens a session and issues its tokens. The caller holds m.mu.
func (m *Mock) login(name string) (*session, error) {
	iUser, ok := m.sess.users[name]
	if !ok {
		iUser = int64(len(m.sess.users) + 1)
		m.sess.users[name] = iUser
	}
	s := &session{id: randomHex(16), login: name, iUser: iUser, refresh: randomHex(24)}
	if err := m.issue(s); err != nil {
		return nil, err
	}
	m.sess.bySession[s.id] = s
	m.sess.byRefresh[s.refresh] = s
	return s, nil
}

// issue gives the session a new access token, retiring the old one. The
// token is a JWT: public clients decode its payload (exp above all) to
// know when to refresh.
func (m *Mock) issue(s *session) error {
	now := m.cfg.Now()
	exp := now.Add(m.cfg.TokenTTL)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"exp": exp.Unix(), "iat": now.Unix(), "login": s.login, "i_env": m.cfg.IEnv, "i_user": s.iUser,
		"jti": randomHex(8),
	}).SignedString(m.sess.key)
	if err != nil {
		return fmt.Errorf("sign access token: %w", err)
	}
	delete(m.sess.byAccess, s.access)
	s.access, s.exp = tok, exp
	m.sess.byAccess[tok] = s
	return nil
}

// logout ends a session: its tokens and session_id stop working. The
// caller holds m.mu.
func (m *Mock) logout(s *session) {
	delete(m.sess.bySession, s.id)
	delete(m.sess.byAccess, s.access)
	delete(m.sess.byRefresh, s.refresh)
}

// errExpired and errUnknownToken say why an access token is refused.
var (
	errExpired      = errors.New("access token expired")
	errUnknownToken = errors.New("access token unknown or logged out")
)

// byToken finds the live session of an access token: the JWT must be
// HS256 with the mock's key, not expired, and not retired by a refresh or a
// logout. The caller holds m.mu.
func (m *Mock) byToken(tok string) (*session, error) {
	_, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return m.sess.key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(m.cfg.Now), jwt.WithExpirationRequired())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, errExpired
	case err != nil:
		return nil, fmt.Errorf("access token invalid: %w", err)
	}
	s, ok := m.sess.byAccess[tok]
	if !ok {
		return nil, errUnknownToken
	}
	return s, nil
}
