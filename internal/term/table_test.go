package term

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"
)

// TestAlignLikeTabwriter: without colour, Align lays text out exactly as
// text/tabwriter (padding 2, spaces) does, so every report that moved to
// Table kept its bytes.
func TestAlignLikeTabwriter(t *testing.T) {
	for _, text := range []string{
		"a\tb\tc\nlonger\tx\ty\n",
		"Run\nstart\t2026\nduration\t2s\n\nOutcome\ndelivered first try\t1\n",
		"h1\th2\th3\nx\ty\n\tz\tlast cell is not padded\nsingle\n",
		"a\t\tb\n\t\t\nccc\t\td\n",
		"x→y\tü\tz\n×\tab\tc\n",
		"no newline\tat end",
	} {
		var want bytes.Buffer
		tw := tabwriter.NewWriter(&want, 0, 4, 2, ' ', 0)
		tw.Write([]byte(text))
		tw.Flush()
		if got := Align(text); got != want.String() {
			t.Errorf("Align(%q) =\n%q\ntabwriter:\n%q", text, got, want.String())
		}
	}
}

// TestAlignColour: escapes have no width, so a coloured table lines up as
// the plain one does.
func TestAlignColour(t *testing.T) {
	pal := NewPalette(true)
	plain := Align("RESULT\tCHECK\tANSWER\npass\tdeliver\t200\nFAIL\tauth_wrong\t200\n")
	colour := Align(pal.Head("RESULT") + "\t" + pal.Head("CHECK") + "\tANSWER\n" + pal.Good("pass") + "\tdeliver\t200\n" + pal.Bad("FAIL") + "\tauth_wrong\t200\n")
	if !strings.Contains(colour, "\x1b[") {
		t.Fatalf("the palette did not colour: %q", colour)
	}
	if got := stripANSI(colour); got != plain {
		t.Errorf("coloured table, escapes removed:\n%s\nwant the plain layout:\n%s", got, plain)
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestPlainTablePassesThrough(t *testing.T) {
	var b bytes.Buffer
	tb := NewTable(&b, false, NewPalette(false))
	tb.Section("Heading", "is", "left out")
	tb.Row("key", "value")
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	if b.String() != "key\tvalue\n" {
		t.Errorf("plain table wrote %q, want one tab-separated line", b.String())
	}
}
