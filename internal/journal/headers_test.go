package journal_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/journal"
)

// TestHeadersStoredAsJSON: the hand-written encoding of captured headers
// reads back as encoding/json reads it, whatever the bytes.
func TestHeadersStoredAsJSON(t *testing.T) {
	for _, v := range []string{"plain", "quote\" back\\slash", "ctl\x00\x1f\t\r\n", "caf\xe9 é \u2028 <&>", ""} {
		h := journal.Headers{"X-A": {v, "second"}, "Content-Type": {"application/json"}}
		got, ok := journal.HeadersText(h).(string)
		var back map[string][]string
		if !ok || json.Unmarshal([]byte(got), &back) != nil || !json.Valid([]byte(got)) {
			t.Fatalf("%q: stored as %q, not JSON", v, got)
		}
		if want := strings.ToValidUTF8(v, "\ufffd"); back["X-A"][0] != want || back["X-A"][1] != "second" || back["Content-Type"][0] != "application/json" {
			t.Errorf("%q: read back %q, want %q", v, back, want)
		}
	}
}

// TestClip: a long text is cut on a rune boundary, the cut marked.
func TestClip(t *testing.T) {
	c := journal.Clip(strings.Repeat("é", 100), 50)
	if len(c) > 50 || !utf8.ValidString(c) || !strings.Contains(c, "bytes)") {
		t.Errorf("Clip = %q (%d bytes), want at most 50 valid bytes with the cut marked", c, len(c))
	}
	if got := journal.Clip("short", 50); got != "short" {
		t.Errorf("Clip(short) = %q, want it as it is", got)
	}
}
