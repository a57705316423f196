package term

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape makes s safe to print on one line of a terminal or a
// tab-separated file: control characters (C0 including tab and newline,
// DEL, C1), Unicode line separators and bidirectional overrides become
// visible escapes (\n, \t, \x1b, \u202e), and bytes that are not UTF-8
// become \xNN. Printable text, including non-ASCII, is kept.
//
// Every text output passes what came from outside through it: a request's
// fields, a results or events file, a scenario, an Application's answer.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case IsUnsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// NeedsEscape reports whether Escape would change s.
func NeedsEscape(s string) bool { return needsEscape(s) }

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f { // printable ASCII, the common case
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r < 0x20 || r == 0x7f || IsUnsafeRune(r) {
			return true
		}
		i += size
	}
	return false
}

// IsUnsafeRune reports the runes other than C0 controls and DEL that
// Escape escapes: C1 controls, line and paragraph separators, and the
// bidirectional formatting characters that can reorder what a terminal
// shows (CVE-2021-42574, "Trojan Source").
func IsUnsafeRune(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 ||
		(r >= 0x200e && r <= 0x200f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x061c || r == 0xfeff
}
