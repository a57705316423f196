package verify

import (
	"bytes"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/term"
)

// Raw capture limits. An accepted delivery passed authorization, so its
// body is kept whole (it is at most Config.MaxBody); a rejected one may
// come from anyone, so what the journal keeps of it is small and bounded.
const (
	MaxRejectedBody = 1 << 10 // bytes of a rejected delivery's body kept

	maxHeaders          = 64      // header lines kept per delivery
	maxHeaderValue      = 4 << 10 // bytes of one header value, accepted deliveries
	maxHeadersSize      = 32 << 10
	maxRejectedHeader   = 256 // bytes of one header value, rejected deliveries
	maxRejectedHeaders  = 2 << 10
	maxRejectedReason   = 512
	maxRejectedTypeName = 128
	maxRemote           = 64
)

// Redacted is what the journal keeps of a credential header's value.
const Redacted = "[redacted]"

// redact hides a credential value: "Basic [redacted]", or "[redacted]"
// when the value does not start with a well-known scheme name (the list
// sign's messages may quote, sign.WellKnownScheme), so that a wrong scheme
// can still be seen. keep is the custom scheme's configured name ("" =
// none): a value whose first word is that name keeps the word as received
// ("Plain [redacted]"), since the receiver was told it in the open. Any
// other first word may be the secret itself.
func redact(v, keep string) string {
	word, _, _ := strings.Cut(strings.TrimSpace(v), " ")
	if keep != "" && strings.EqualFold(word, keep) {
		return word + " " + Redacted
	}
	if s, ok := sign.WellKnownScheme(word); ok {
		return s + " " + Redacted
	}
	return Redacted
}

// credentialWords are the words that make a header name say it carries a
// credential (X-Api-Key, X-Auth-Token, X-Client-Secret, Proxy-Authorization,
// X-Password): its value is redacted whether or not serve was told of it.
var credentialWords = [...]string{"key", "token", "secret", "auth", "password"}

// credential reports whether the header name carries a credential: one of
// configured (the scheme's header, Authorization, Proxy-Authorization,
// Cookie), or a name holding one of credentialWords, in any case. It runs
// for every header of every delivery: the name is lowered into a buffer on
// the stack, not a new string.
func credential(name string, configured []string) bool {
	for _, c := range configured {
		if strings.EqualFold(name, c) {
			return true
		}
	}
	var buf [64]byte
	lower := buf[:0]
	if len(name) > len(buf) {
		lower = make([]byte, 0, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower = append(lower, c)
	}
	for _, w := range credentialWords {
		if bytes.Contains(lower, []byte(w)) {
			return true
		}
	}
	return false
}

// capture copies r's headers (and Host) for the journal, with the values
// of credHeaders and of any header credential names redacted (keeping the custom scheme name keep, see
// redact), each value cut to valueMax bytes and the whole to totalMax;
// headers past the limits are counted in X-Espfctl-Omitted.
func capture(r *http.Request, credHeaders []string, keep string, valueMax, totalMax int) journal.Headers {
	names := sortedNames(r.Header)
	n := 1 // values, Host included
	for _, name := range names {
		n += len(r.Header[name])
	}
	// One map sized for every name and one array for every value: the
	// capture runs on every delivery.
	h := make(journal.Headers, min(len(names), maxHeaders)+2)
	vals := make([]string, 0, n)
	total, omitted := 0, 0
	// put captures name's values; a name's values are added together, so
	// they are the tail of vals. At most maxHeaders names are kept, and
	// at most totalMax bytes of names and values.
	put := func(name string, values []string, secret bool) {
		start := len(vals)
		for _, v := range values {
			kept := len(h)
			if start < len(vals) {
				kept++ // this name is kept already
			}
			if kept >= maxHeaders || total >= totalMax {
				omitted++
				continue
			}
			if secret {
				v = redact(v, keep)
			}
			v = journal.Clip(v, min(valueMax, totalMax-total))
			total += len(name) + len(v)
			vals = append(vals, v)
		}
		if start < len(vals) {
			h[name] = vals[start:len(vals):len(vals)]
		}
	}
	if r.Host != "" {
		put("Host", []string{r.Host}, false)
	}
	for _, name := range names {
		put(name, r.Header[name], credential(name, credHeaders))
	}
	if omitted > 0 {
		h["X-Espfctl-Omitted"] = []string{strconv.Itoa(omitted) + " header values over the capture limit"}
	}
	return h
}

func sortedNames(h http.Header) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Escape is term.Escape: what every text output does to outside text
// (control characters, bidirectional overrides and bytes that are not
// UTF-8 made visible).
func Escape(s string) string { return term.Escape(s) }
