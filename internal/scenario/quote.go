package scenario

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// indicators are the characters that YAML reads as syntax at the start of
// a plain value: a block scalar (> |), an alias or anchor (* &), a tag
// (!), a directive (%) or a reserved character (@ `). A value such as
// `p99: > 1s` must be quoted to mean the text.
const indicators = ">|*&!%@`"

// unquotedValue matches "key: X…" or "- X…" where X is an indicator;
// group 1 is everything before X.
var unquotedValue = regexp.MustCompile("^(\\s*(?:-\\s+)*(?:[^\\s:#\"'{}\\[\\]-][^:#]*:\\s+|-\\s+))([" + regexp.QuoteMeta(indicators) + "])")

// quoteHint is the "quote it" error for a value on line (1-based) of src,
// or the line before it (yaml.v3 may report the line after), that starts
// with an indicator; nil when there is none.
func quoteHint(file string, src []byte, line int) *Error {
	lines := bytes.Split(src, []byte("\n"))
	for _, n := range []int{line, line - 1} {
		if n < 1 || n > len(lines) {
			continue
		}
		if e := quoteError(file, n, string(bytes.TrimRight(lines[n-1], "\r"))); e != nil {
			return e
		}
	}
	return nil
}

func quoteError(file string, n int, text string) *Error {
	m := unquotedValue.FindStringSubmatchIndex(text)
	if m == nil {
		return nil
	}
	col := m[4] // byte offset of the indicator
	value := strings.TrimSpace(text[col:])
	if i := strings.Index(value, " #"); i >= 0 {
		value = strings.TrimSpace(value[:i])
	}
	return &Error{File: file, Line: n, Col: col + 1, Msg: fmt.Sprintf(
		"a value cannot start with %s unquoted (YAML reads it as syntax); quote it: %s%q",
		text[col:col+1], strings.TrimLeft(text[:col], " \t-"), value)}
}

// quoteErrors walks the document for values that parsed, but not as the
// text they look like: a tag (`p99: !1s`) or an anchor with nothing after
// it (`p99: &1s`). A scenario needs neither; each gets "quote it".
func quoteErrors(file string, src []byte, root *yaml.Node) []error {
	var errs []error
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && (n.Style&yaml.TaggedStyle != 0 || n.Anchor != "" && n.Value == "") {
			if e := quoteHint(file, src, n.Line); e != nil {
				errs = append(errs, e)
			} else {
				errs = append(errs, &Error{File: file, Line: n.Line, Col: n.Column,
					Msg: "a value cannot start with ! or & unquoted (YAML reads it as a tag or an anchor); quote it"})
			}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	return errs
}
