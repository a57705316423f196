package journal

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"unicode/utf8"
)

// Headers are a request's headers as received (names canonicalized by
// net/http), credentials redacted by the receiver. They are stored as a
// JSON object of name -> list of values.
type Headers map[string][]string

// unreadableHeaders bounds what is shown of stored headers that are not
// the JSON the journal writes (a damaged journal).
const unreadableHeaders = 2 << 10

// Names sorts the header names, for display.
func (h Headers) Names() []string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// text is the JSON object the journal stores, names sorted, written by
// hand (it runs on every delivery; encoding/json's reflection costs more
// than the rest of the capture).
func (h Headers) text() any {
	if h == nil {
		return nil
	}
	b := make([]byte, 0, 512)
	b = append(b, '{')
	for i, name := range h.Names() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
		b = append(b, ':', '[')
		for k, v := range h[name] {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, v)
		}
		b = append(b, ']')
	}
	return string(append(b, '}'))
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, bytes that are not UTF-8 as U+FFFD, as
// encoding/json writes it (without its HTML escaping).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == 0x2028 || r == 0x2029:
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// parseHeaders reads what text stored; headers that are not that JSON (a
// damaged journal) read as one X-Espfctl-Unreadable value.
func parseHeaders(s sql.NullString) Headers {
	if !s.Valid || s.String == "" {
		return nil
	}
	var h map[string][]string
	if err := json.Unmarshal([]byte(s.String), &h); err != nil {
		return Headers{"X-Espfctl-Unreadable": {Clip(s.String, unreadableHeaders)}}
	}
	return h
}

// Clip cuts s to at most n bytes on a rune boundary, marking the cut with
// how many bytes were left out: how the journal's writers bound a text
// that came from outside.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	mark := fmt.Sprintf("…(+%d bytes)", len(s)-n)
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
