package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/verify"
)

// TestTextCannotBeForged: control characters and line breaks from a
// request never reach serve's line or the journal table as such: each
// delivery stays one line with its columns, and a terminal is not driven.
func TestTextCannotBeForged(t *testing.T) {
	id := int64(7)
	evil := "A/B\x1b[2J\nforged\tcolumn\u202e"
	d := verify.Delivery{Time: time.Unix(0, 0), IEvent: &id, Type: evil, Entity: "number=\r1", Auth: verify.AuthFailed,
		Status: 401, Reason: "mismatch: \x1b]0;title\x07", Flags: []string{"unknown\nflag"}}
	var buf bytes.Buffer
	if err := Delivery(&buf, d, term.Palette{}); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	if strings.Count(line, "\n") != 1 || strings.Count(line, "\t") != 8 || strings.ContainsAny(line, "\x1b\r\x07\u202e") {
		t.Errorf("delivery line %q: want one line, 9 columns, no control characters", line)
	}
	if !strings.Contains(line, `A/B\x1b[2J\nforged\tcolumn\u202e`) || !strings.Contains(line, "the ESPF drops the event") {
		t.Errorf("delivery line %q: want the type escaped visibly and the consequence", line)
	}

	buf.Reset()
	vars := json.RawMessage("{\"name\":\"caf\xe9\u202e\"}")
	et := NewEventTable(&buf, false)
	if err := et.Write(&journal.Record{Kind: journal.First, ID: 1, Type: evil, Variables: vars}); err != nil {
		t.Fatal(err)
	}
	if err := et.Flush(); err != nil {
		t.Fatal(err)
	}
	if row := buf.String(); strings.Count(row, "\n") != 1 || strings.Count(row, "\t") != 7 || strings.ContainsAny(row, "\x1b\u202e") || !strings.Contains(row, `caf\xe9`) {
		t.Errorf("journal row %q: want one escaped line of 8 columns", row)
	}

	buf.Reset()
	x := journal.Record{Kind: journal.Rejected, Status: 401, AuthScheme: "basic", Auth: "failed", Remote: "1.2.3.4:5", Reason: "bad\nline",
		Body: []byte("{\"a\":\"\x1b[31m\"}\nsecond line"), BodySize: 5000,
		Headers: journal.Headers{"Authorization": {"Basic [redacted]"}, "X-Evil": {"\x1b[1m"}}}
	if err := RawRejection(&buf, &x); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	if strings.Contains(raw, "\x1b") || !strings.Contains(raw, "second line") || !strings.Contains(raw, "(first 25 of 5000 bytes kept)") ||
		!strings.Contains(raw, "Authorization: Basic [redacted]") {
		t.Errorf("raw rejection:\n%s\nwant escaped headers and body, the body's own lines, and the cut noted", raw)
	}
}
