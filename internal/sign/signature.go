package sign

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"hash"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Signature is PortaBilling's "Signature" scheme: HMAC-SHA1(key, Date value),
// base64 with the standard padded alphabet. The signing string is the Date
// header's value itself, with no "date: " prefix (contract.md §3).
type Signature struct {
	header  string
	keyIDs  []string
	keys    [][]byte
	pools   []sync.Pool // one per key: *hmacState
	maxSkew time.Duration
}

func newSignature(cfg Config, hdr string) (*Signature, error) {
	ids, err := pair(SchemeSignature, "key id", cfg.KeyIDs, cfg.Keys)
	if err != nil {
		return nil, err
	}
	s := &Signature{header: hdr, maxSkew: cfg.MaxSkew}
	for i, id := range ids {
		if id == "" || strings.ContainsAny(id, "\"\\\r\n") {
			return nil, fmt.Errorf("signature: key id %q must be non-empty and contain no quote, backslash or line break", id)
		}
		s.keyIDs = append(s.keyIDs, id)
		s.keys = append(s.keys, []byte(cfg.Keys[i]))
	}
	s.pools = make([]sync.Pool, len(s.keys))
	return s, nil
}

func (s *Signature) Scheme() string { return SchemeSignature }
func (s *Signature) Header() string { return s.header }

// Sum is base64(HMAC-SHA1(key, signing string)).
func Sum(key []byte, signingString string) string {
	m := hmac.New(sha1.New, key)
	m.Write([]byte(signingString))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Value is the header value for a Date value, signed with the first key. The
// parameters are written without spaces after the commas: real receivers
// split the header at a single space.
func (s *Signature) Value(date string) string {
	return `Signature keyId="` + s.keyIDs[0] + `",algorithm="hmac-sha1",signature="` + Sum(s.keys[0], date) + `"`
}

func (s *Signature) Sign(h http.Header, _ []byte, now time.Time) error {
	setDate(h, now)
	h.Set(s.header, s.Value(h.Get("Date")))
	return nil
}

func (s *Signature) Verify(h http.Header, body []byte, now time.Time) error {
	return s.verify(h, now, nil)
}

func (s *Signature) Explain(h http.Header, body []byte, now time.Time) *Result {
	r := &Result{Scheme: SchemeSignature, Header: s.header}
	return r.finish(s.verify(h, now, r))
}

func (s *Signature) verify(h http.Header, now time.Time, r *Result) error {
	v, err := authValue(h, s.header, r)
	if err != nil {
		return err
	}
	rest, err := splitScheme(v, "Signature", r)
	if err != nil {
		return err
	}
	var buf [8]param
	params, err := parseParams(rest, buf[:0])
	if err != nil {
		return r.fail("parameters", `keyId="…",algorithm="hmac-sha1",signature="…"`, rest, err)
	}
	var vals [3]string
	for i, p := range [...]string{"keyId", "algorithm", "signature"} {
		val, ok := lookup(params, p)
		if !ok {
			return r.fail(p, "", "", fmt.Errorf("%w: no %s parameter", ErrMissing, p))
		}
		vals[i] = val
	}
	keyID, alg, got := vals[0], vals[1], vals[2]
	if !slices.Contains(s.keyIDs, keyID) {
		return r.fail("key_id", strings.Join(s.keyIDs, " or "), keyID, fmt.Errorf("%w: keyId %q, want %q", ErrMismatch, keyID, strings.Join(s.keyIDs, `" or "`)))
	}
	r.pass("key_id", keyID, "")
	if !strings.EqualFold(alg, "hmac-sha1") {
		return r.fail("algorithm", "hmac-sha1", alg, fmt.Errorf("%w: algorithm %q, want %q", ErrMismatch, alg, "hmac-sha1"))
	}
	r.pass("algorithm", alg, "")
	if hs, ok := lookup(params, "headers"); ok && r != nil {
		r.pass("headers", hs, "ignored: PortaBilling signs the Date value alone")
	}

	date, t, err := ParseDate(h)
	if r != nil {
		r.Date = date
		signing := date
		r.SigningString = &signing
	}
	if err != nil {
		return r.fail("date", "one HTTP-date", date, err)
	}
	skew := now.Sub(t)
	if r != nil {
		sec := skew.Seconds()
		r.SkewSeconds = &sec
	}
	if s.maxSkew > 0 && (skew > s.maxSkew || skew < -s.maxSkew) {
		return r.fail("date", fmt.Sprintf("within ±%s of now (%s)", s.maxSkew, now.UTC().Format(http.TimeFormat)), date,
			fmt.Errorf("%w: Date %q is %s from now, more than the allowed %s", ErrStale, date, fmtSkew(skew), s.maxSkew))
	}
	if r != nil {
		r.pass("date", date, "skew "+fmtSkew(skew))
	}

	if !validBase64(got) {
		return r.fail("signature", "", got, fmt.Errorf("%w: signature %q is not standard padded base64", ErrMalformed, got))
	}
	// Compare the base64 text (as sent) with every key of this id, in
	// constant time and without an early exit.
	matched := false
	var want [28]byte // base64 of a 20-byte HMAC-SHA1
	for i, id := range s.keyIDs {
		if id != keyID {
			continue
		}
		s.sum(i, date, &want)
		if hmac.Equal([]byte(got), want[:]) {
			matched = true
		}
	}
	if !matched {
		// The expected signature is not the key, but it is a valid credential
		// for this Date until the skew runs out: only Explain (the verify
		// command, run by whoever holds the key) shows it; the error, which
		// receivers log, does not.
		first := s.keys[slices.Index(s.keyIDs, keyID)]
		return r.fail("signature", Sum(first, date), got, fmt.Errorf("%w: the signature does not match keyId %q over the signing string %q", ErrMismatch, keyID, date))
	}
	r.pass("signature", got, "")
	return nil
}

// hmacState is a keyed HMAC-SHA1 with scratch space, reused through a pool
// so that verifying does not allocate.
type hmacState struct {
	mac hash.Hash
	in  []byte
	sum [sha1.Size]byte
}

// sum writes base64(HMAC-SHA1(keys[i], date)) into out.
func (s *Signature) sum(i int, date string, out *[28]byte) {
	st, _ := s.pools[i].Get().(*hmacState)
	if st == nil {
		st = &hmacState{mac: hmac.New(sha1.New, s.keys[i])}
	}
	st.mac.Reset()
	st.in = append(st.in[:0], date...)
	st.mac.Write(st.in)
	base64.StdEncoding.Encode(out[:], st.mac.Sum(st.sum[:0]))
	s.pools[i].Put(st)
}

// validBase64 reports whether s is standard padded base64.
func validBase64(s string) bool {
	var buf [48]byte
	if base64.StdEncoding.DecodedLen(len(s)) > len(buf) {
		_, err := base64.StdEncoding.DecodeString(s)
		return err == nil
	}
	_, err := base64.StdEncoding.Decode(buf[:], []byte(s))
	return err == nil
}

// fmtSkew renders a skew as "+3s" (Date in the past) or "-2m0s" (in the future).
func fmtSkew(d time.Duration) string {
	d = d.Round(time.Millisecond)
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

type param struct{ name, val string }

// parseParams appends the parameters of s to dst. Values without escapes are
// substrings of s, so the common header parses without allocating.
func parseParams(s string, dst []param) ([]param, error) {
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			break
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq <= 0 {
			return nil, fmt.Errorf("%w: parameter at offset %d has no name=value", ErrMalformed, i)
		}
		name := strings.TrimSpace(s[i : i+eq])
		if name == "" || strings.ContainsAny(name, " \t,\"") {
			return nil, fmt.Errorf("%w: bad parameter name %q", ErrMalformed, name)
		}
		i += eq + 1
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) || s[i] != '"' {
			return nil, fmt.Errorf("%w: the value of parameter %s is not quoted (want %s=\"…\")", ErrMalformed, name, name)
		}
		i++
		val, n, ok := unquote(s[i:])
		if !ok {
			return nil, fmt.Errorf("%w: parameter %s has an unterminated quoted value", ErrMalformed, name)
		}
		i += n
		for _, p := range dst {
			if p.name == name {
				return nil, fmt.Errorf("%w: parameter %s given twice", ErrMalformed, name)
			}
		}
		dst = append(dst, param{name, val})
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			break
		}
		if s[i] != ',' {
			return nil, fmt.Errorf("%w: expected a comma after parameter %s at offset %d", ErrMalformed, name, i)
		}
		i++
	}
	if len(dst) == 0 {
		return nil, fmt.Errorf("%w: no parameters", ErrMissing)
	}
	return dst, nil
}

// unquote reads a quoted string's body up to and including the closing
// quote; s starts just after the opening quote. It returns the value, the
// bytes consumed and whether the closing quote was found.
func unquote(s string) (string, int, bool) {
	end := strings.IndexAny(s, `"\`)
	if end >= 0 && s[end] == '"' {
		return s[:end], end + 1, true // no escapes: a substring
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '"':
			return b.String(), i + 1, true
		default:
			b.WriteByte(c)
		}
	}
	return "", len(s), false
}

// lookup returns the value of the parameter called name.
func lookup(ps []param, name string) (string, bool) {
	for _, p := range ps {
		if p.name == name {
			return p.val, true
		}
	}
	return "", false
}
