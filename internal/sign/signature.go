package sign

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Signature is PortaBilling's "Signature" scheme: HMAC-SHA1(key, Date value),
// base64 with the standard padded alphabet. The signing string is the Date
// header's value itself, with no "date: " prefix (contract.md §3).
type Signature struct {
	header  string
	keyIDs  []string
	keys    [][]byte
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
	params, err := ParseParams(rest)
	if err != nil {
		return r.fail("parameters", `keyId="…",algorithm="hmac-sha1",signature="…"`, rest, err)
	}
	for _, p := range []string{"keyId", "algorithm", "signature"} {
		if _, ok := params[p]; !ok {
			return r.fail(p, "", "", fmt.Errorf("%w: no %s parameter", ErrMissing, p))
		}
	}
	keyID := params["keyId"]
	var keys [][]byte
	for i, id := range s.keyIDs {
		if id == keyID {
			keys = append(keys, s.keys[i])
		}
	}
	if len(keys) == 0 {
		return r.fail("key_id", strings.Join(s.keyIDs, " or "), keyID, fmt.Errorf("%w: keyId %q, want %q", ErrMismatch, keyID, strings.Join(s.keyIDs, `" or "`)))
	}
	r.pass("key_id", keyID, "")
	if alg := params["algorithm"]; !strings.EqualFold(alg, "hmac-sha1") {
		return r.fail("algorithm", "hmac-sha1", alg, fmt.Errorf("%w: algorithm %q, want %q", ErrMismatch, alg, "hmac-sha1"))
	}
	r.pass("algorithm", params["algorithm"], "")
	if hs, ok := params["headers"]; ok && r != nil {
		r.pass("headers", hs, "ignored: PortaBilling signs the Date value alone")
	}

	date, t, err := ParseDate(h)
	if r != nil {
		r.Date = date
		r.SigningString = &date
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
	r.pass("date", date, "skew "+fmtSkew(skew))

	got := params["signature"]
	if _, err := base64.StdEncoding.DecodeString(got); err != nil {
		return r.fail("signature", "", got, fmt.Errorf("%w: signature %q is not standard padded base64", ErrMalformed, got))
	}
	sums := make([][]byte, len(keys))
	for i, k := range keys {
		sums[i] = []byte(Sum(k, date))
	}
	if matchAny([]byte(got), sums) < 0 {
		// The expected signature is not the key, but it is a valid credential
		// for this Date until the skew runs out: only Explain (the verify
		// command, run by whoever holds the key) shows it; the error, which
		// receivers log, does not.
		return r.fail("signature", string(sums[0]), got, fmt.Errorf("%w: signature %q does not match keyId %q over the signing string %q", ErrMismatch, got, keyID, date))
	}
	r.pass("signature", got, "")
	return nil
}

// fmtSkew renders a skew as "+3s" (Date in the past) or "-2m0s" (in the future).
func fmtSkew(d time.Duration) string {
	d = d.Round(time.Millisecond)
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

// ParseParams parses `k1="v1",k2="v2"` in any order, with or without spaces
// after the commas. Values may be quoted (with \-escapes) or bare tokens. A
// parameter given twice is malformed.
func ParseParams(s string) (map[string]string, error) {
	out := make(map[string]string, 4)
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
		if strings.ContainsAny(name, " ,\"") {
			return nil, fmt.Errorf("%w: bad parameter name %q", ErrMalformed, name)
		}
		i += eq + 1
		var val strings.Builder
		if i < len(s) && s[i] == '"' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					val.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '"' {
					closed = true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return nil, fmt.Errorf("%w: parameter %s has an unterminated quoted value", ErrMalformed, name)
			}
		} else {
			j := strings.IndexByte(s[i:], ',')
			if j < 0 {
				j = len(s) - i
			}
			val.WriteString(strings.TrimSpace(s[i : i+j]))
			i += j
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w: parameter %s given twice", ErrMalformed, name)
		}
		out[name] = val.String()
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
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no parameters", ErrMissing)
	}
	return out, nil
}
