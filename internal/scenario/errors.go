package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/espfctl/espfctl/internal/event"
)

// Error is one problem in a scenario file, with its position. Col is 0 when
// only the line is known.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Col == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors returns every *Error in err (which may be an errors.Join tree),
// sorted by position.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		var e *Error
		switch x := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, c := range x.Unwrap() {
				walk(c)
			}
		default:
			if errors.As(err, &e) {
				out = append(out, e)
			}
		}
	}
	walk(err)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Col < out[j].Col
	})
	return out
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// fromYAML turns yaml.v3's "yaml: line N: msg" syntax errors into *Error.
// A value that failed to parse because it starts with an indicator
// (`p99: > 1s`) gets "quote it" with its line and column instead.
func fromYAML(file string, src []byte, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		if q := quoteHint(file, src, n); q != nil {
			return q
		}
		return &Error{File: file, Line: n, Msg: "invalid YAML: " + m[2]}
	}
	// yaml.v3 gives no line for some errors ("unknown anchor 'x'
	// referenced"): the first value that needs quoting is the likely cause.
	for n := range bytes.Count(src, []byte("\n")) + 1 {
		if q := quoteHint(file, src, n+1); q != nil {
			return q
		}
	}
	return &Error{File: file, Line: 1, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// closest returns the candidate nearest to s, if it is close enough to be
// a likely typo (event.Closest).
func closest(s string, candidates []string) string { return event.Closest(s, candidates) }
