package check

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/sign"
)

// Environment variables that hold the secrets in reproducers: the ones the
// credential flags read.
const (
	EnvPassword    = sign.EnvPassword
	EnvCredentials = sign.EnvCredentials
	EnvKey         = sign.EnvKey
)

// credential is one way of filling in the credentials header: its value
// for a request, and the same value written for a shell reproducer.
type credential struct {
	// value is the header value for a request whose Date header is date
	// ("" when it has none), sent at now.
	value func(date string, now time.Time) (string, error)
	// shell writes the value for a reproducer: lines that set shell
	// variables, and the value as the inside of a double-quoted word.
	// date is the shell word that gives the Date value; now is when the
	// request was sent. Secrets appear only as references to their
	// environment variables.
	shell func(date string, now time.Time) (pre []string, word string)
}

// secret is a value that is written into a reproducer as a reference to
// env, or as it is when env is "" (a made-up wrong secret is no secret).
// flip: the value is env's with its letters in the other case (flipCase),
// written as the tr pipeline that makes it.
type secret struct {
	value, env string
	flip       bool
}

// flipped is s with its letters in the other case.
func (s secret) flipped() secret {
	return secret{value: flipCase(s.value), env: s.env, flip: s.env != ""}
}

// word is the secret as a shell word of its own.
func (s secret) word() string {
	switch {
	case s.flip:
		return `"` + s.inDQ() + `"`
	case s.env != "":
		return `"$` + s.env + `"`
	}
	return shq(s.value)
}

// inDQ is the secret inside a double-quoted word.
func (s secret) inDQ() string {
	switch {
	case s.flip:
		return `$(printf '%s' "$` + s.env + `" | LC_ALL=C tr 'a-zA-Z' 'A-Za-z')`
	case s.env != "":
		return "${" + s.env + "}"
	}
	return dq(s.value)
}

// creds are the configured credentials, and every wrong variant the
// authorization cases send.
type creds struct {
	scheme string
	header string
	cfg    sign.Config
	right  *credential // byte for byte what send writes
}

func newCreds(cfg sign.Config) (*creds, error) {
	au, err := sign.New(cfg)
	if err != nil {
		return nil, err
	}
	c := &creds{scheme: au.Scheme(), header: au.Header(), cfg: cfg}
	right, err := c.variant(variant{})
	if err != nil {
		return nil, err
	}
	// The value is what sign writes for send; the reproducer is ours.
	right.value = func(_ string, now time.Time) (string, error) {
		h := http.Header{}
		if err := au.Sign(h, nil, now); err != nil {
			return "", err
		}
		return h.Get(au.Header()), nil
	}
	c.right = right
	return c, nil
}

// variant describes a wrong credential; the zero value is the right one.
type variant struct {
	schemeName  string // another scheme name than the scheme's own
	wrongSecret bool   // a random secret of the same length
	wrongUser   bool   // basic
	wrongKeyID  bool   // signature
	algorithm   string // signature: another algorithm parameter
	signing     string // signature: sign this Date value instead of the request's ("none" = the empty string)
	claims      string // bearer: "expired", "no-exp", "other-i-env", "exp-ms"
	jwtAlg      string // bearer: "none" or "HS512" instead of HS256
	// flipCase: the right credential with every letter of one part in the
	// other case (a near miss): "secret" (password, custom credentials),
	// "user", "key-id".
	flipCase string
}

func (c *creds) variant(v variant) (*credential, error) {
	switch c.scheme {
	case sign.SchemeBasic:
		return c.basic(v)
	case sign.SchemeCustom:
		return c.custom(v)
	case sign.SchemeSignature:
		return c.signature(v)
	case sign.SchemeBearer:
		return c.bearer(v)
	}
	return nil, fmt.Errorf("unknown scheme %q", c.scheme)
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func (c *creds) basic(v variant) (*credential, error) {
	user, pass := first(c.cfg.Users), secret{value: first(c.cfg.Passwords), env: EnvPassword}
	name := "Basic"
	if v.schemeName != "" {
		name = v.schemeName
	}
	if v.wrongUser {
		user = randomLike(user)
	}
	if v.wrongSecret {
		pass = secret{value: randomLike(pass.value)}
	}
	switch v.flipCase {
	case "secret":
		pass = pass.flipped()
	case "user":
		user = flipCase(user)
	}
	return &credential{
		value: func(string, time.Time) (string, error) {
			return name + " " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass.value)), nil
		},
		shell: func(string, time.Time) ([]string, string) {
			return nil, dq(name) + ` $(printf '%s:%s' ` + shq(user) + ` ` + pass.word() + ` | base64 | tr -d '\n')`
		},
	}, nil
}

func (c *creds) custom(v variant) (*credential, error) {
	name, cred := strings.TrimSpace(c.cfg.Name), secret{value: first(c.cfg.Credentials), env: EnvCredentials}
	if v.schemeName != "" {
		name = v.schemeName
	}
	if v.wrongSecret {
		cred = secret{value: randomLike(cred.value)}
	}
	if v.flipCase == "secret" {
		cred = cred.flipped()
	}
	return &credential{
		value: func(string, time.Time) (string, error) { return name + " " + cred.value, nil },
		shell: func(string, time.Time) ([]string, string) { return nil, dq(name) + " " + cred.inDQ() },
	}, nil
}

func (c *creds) signature(v variant) (*credential, error) {
	keyID, key := first(c.cfg.KeyIDs), secret{value: first(c.cfg.Keys), env: EnvKey}
	name, alg := "Signature", "hmac-sha1"
	if v.schemeName != "" {
		name = v.schemeName
	}
	if v.wrongKeyID {
		keyID = randomLike(keyID)
	}
	if v.flipCase == "key-id" {
		keyID = flipCase(keyID)
	}
	if v.wrongSecret {
		key = secret{value: randomLike(key.value)}
	}
	if v.algorithm != "" {
		alg = v.algorithm
	}
	signing := func(date string) string {
		switch v.signing {
		case "":
			return date
		case "none":
			return ""
		}
		return v.signing
	}
	head := name + ` keyId="` + keyID + `",algorithm="` + alg + `",signature="`
	return &credential{
		value: func(date string, _ time.Time) (string, error) {
			return head + sign.Sum([]byte(key.value), signing(date)) + `"`, nil
		},
		shell: func(date string, _ time.Time) ([]string, string) {
			word := date
			switch v.signing {
			case "":
			case "none":
				word = "''"
			default:
				word = shq(v.signing)
			}
			pre := []string{`SIG="$(printf '%s' ` + word + ` | openssl dgst -sha1 -hmac ` + key.word() + ` -binary | base64)"`}
			return pre, dq(head) + `${SIG}` + dq(`"`)
		},
	}, nil
}

func (c *creds) bearer(v variant) (*credential, error) {
	key := secret{value: first(c.cfg.Keys), env: EnvKey}
	name, alg := "Bearer", "HS256"
	if v.schemeName != "" {
		name = v.schemeName
	}
	if v.wrongSecret {
		key = secret{value: randomLike(key.value)}
	}
	if v.jwtAlg != "" {
		alg = v.jwtAlg
	}
	ttl := c.cfg.TTL
	if ttl <= 0 {
		ttl = sign.DefaultTTL
	}
	iEnv := c.cfg.IEnv
	if v.claims == "other-i-env" && iEnv != nil {
		other := *iEnv + 1
		iEnv = &other
	}
	// claims returns the claims JSON at now, and its shell word ("" when it
	// is fixed: then the literal is used).
	claims := func(now time.Time) (string, string) {
		var b strings.Builder
		var sh strings.Builder
		b.WriteString("{")
		sh.WriteString(`"{`)
		if iEnv != nil {
			n := strconv.FormatInt(*iEnv, 10)
			b.WriteString(`"i_env":` + n + `,`)
			sh.WriteString(`\"i_env\":` + n + `,`)
		}
		switch v.claims {
		case "no-exp":
			s := strings.TrimSuffix(b.String(), ",") + "}"
			return s, ""
		case "exp-ms": // what an Application that reads Exp as milliseconds accepts
			b.WriteString(`"Exp":` + strconv.FormatInt(now.Add(ttl).UnixMilli(), 10) + "}")
			return b.String(), ""
		case "expired":
			b.WriteString(`"Exp":` + strconv.FormatInt(now.Add(-time.Hour).Unix(), 10) + "}")
			return b.String(), ""
		}
		b.WriteString(`"Exp":` + strconv.FormatInt(now.Add(ttl).Unix(), 10) + "}")
		sh.WriteString(`\"Exp\":$(( $(date +%s) + ` + strconv.FormatInt(int64(ttl/time.Second), 10) + ` ))}"`)
		return b.String(), sh.String()
	}
	head := `{"alg":"` + alg + `"}`
	b64 := base64.RawURLEncoding.EncodeToString
	return &credential{
		value: func(_ string, now time.Time) (string, error) {
			cl, _ := claims(now)
			signing := b64([]byte(head)) + "." + b64([]byte(cl))
			sig, err := jwtSign(alg, []byte(key.value), signing)
			if err != nil {
				return "", err
			}
			return name + " " + signing + "." + sig, nil
		},
		shell: func(_ string, now time.Time) ([]string, string) {
			const b64url = ` | base64 | tr '+/' '-_' | tr -d '=\n'`
			cl, word := claims(now)
			pre := []string{"JWT_H=" + shq(b64([]byte(head)))}
			if word == "" {
				pre = append(pre, "JWT_C="+shq(b64([]byte(cl))))
			} else {
				pre = append(pre, `JWT_C="$(printf '%s' `+word+b64url+`)"`)
			}
			switch alg {
			case "none":
				pre = append(pre, "JWT_S=''")
			default:
				dgst := map[string]string{"HS256": "-sha256", "HS512": "-sha512"}[alg]
				pre = append(pre, `JWT_S="$(printf '%s.%s' "$JWT_H" "$JWT_C" | openssl dgst `+dgst+` -hmac `+key.word()+` -binary`+b64url+`)"`)
			}
			return pre, dq(name) + ` ${JWT_H}.${JWT_C}.${JWT_S}`
		},
	}, nil
}

// jwtSign is the JWS signature of signing for the HMAC algorithms and none.
func jwtSign(alg string, key []byte, signing string) (string, error) {
	var h func() hash.Hash
	switch alg {
	case "none":
		return "", nil
	case "HS256":
		h = sha256.New
	case "HS512":
		h = sha512.New
	default:
		return "", errors.New("jwt: unsupported alg " + alg)
	}
	m := hmac.New(h, key)
	m.Write([]byte(signing))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}

// randomLike is a random string of letters and digits as long as s, never
// s itself: a wrong secret that a length check cannot tell from the right
// one (and never the right one with something appended).
func randomLike(s string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	n := len(s)
	if n == 0 {
		n = 8
	}
	for {
		b := make([]byte, n)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		for i := range b {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		if string(b) != s {
			return string(b)
		}
	}
}

// hasLetters reports whether the part of the credential that a near-miss
// case flips (variant.flipCase) has a letter to flip.
func (c *creds) hasLetters(part string) bool {
	var v string
	switch {
	case part == "user":
		v = first(c.cfg.Users)
	case part == "key-id":
		v = first(c.cfg.KeyIDs)
	case c.scheme == sign.SchemeBasic:
		v = first(c.cfg.Passwords)
	default:
		v = first(c.cfg.Credentials)
	}
	return flipCase(v) != v
}

// flipCase is s with every ASCII letter in the other case: the near miss
// that a case-insensitive comparison accepts. s itself when it has no
// letter.
func flipCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}

// otherName is a scheme name that is not want (compared without case).
func otherName(want string) string {
	for _, n := range []string{"Bearer", "Basic", "Token"} {
		if !strings.EqualFold(n, want) {
			return n
		}
	}
	return "Token"
}
