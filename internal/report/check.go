package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/schema"
)

// CheckReport is check's --json document: one object with every case.
type CheckReport struct {
	SchemaVersion int                  `json:"schema_version"` // schema.Version, set by CheckJSON (docs/json.md)
	URL           string               `json:"url"`
	Scheme        string               `json:"scheme"`
	Header        string               `json:"header"`
	Strict        bool                 `json:"strict"`
	Counts        check.Counts         `json:"counts"`
	Sections      []check.SectionCount `json:"sections"`
	Checks        []check.Result       `json:"checks"`
	Error         string               `json:"error,omitempty"` // e.g. the Application could not be reached
}

// CheckJSON writes rep as one indented object; Counts and Sections are
// computed from Checks.
func CheckJSON(w io.Writer, rep CheckReport) error {
	if rep.Checks == nil {
		rep.Checks = []check.Result{}
	}
	rep.SchemaVersion = schema.Version
	rep.Counts, rep.Sections = check.Count(rep.Checks), check.BySection(rep.Checks)
	if rep.Sections == nil {
		rep.Sections = []check.SectionCount{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// DefaultWidth is the table width when the terminal's is unknown.
const DefaultWidth = 100

// CheckTable writes check's results one line per case as each finishes.
// On a terminal (table set) the columns are aligned under a header, the
// consequence is wrapped to the width and paint styles the grade;
// otherwise every case is one tab-separated plain line (grade, case,
// answer, expectation, consequence), for grep and cut.
type CheckTable struct {
	w      io.Writer
	table  bool
	width  int
	idW    int
	paint  func(check.Grade, string) string
	header bool
}

const (
	checkGradeW  = 6
	checkAnswerW = 18
	checkGap     = "  "
)

// NewCheckTable starts a table for cases (their IDs set the column width).
func NewCheckTable(w io.Writer, cases []check.Case, table bool, width int, paint func(check.Grade, string) string) *CheckTable {
	if width <= 0 {
		width = DefaultWidth
	}
	idW := len("CASE")
	for _, c := range cases {
		idW = max(idW, len(c.ID))
	}
	return &CheckTable{w: w, table: table, width: width, idW: idW, paint: paint}
}

func checkGradeText(g check.Grade) string {
	if g == check.Fail {
		return "FAIL"
	}
	return string(g)
}

// Row writes one case. The answer and the consequence may quote the
// Application (a TLS certificate's names, an error's words): they are
// escaped.
func (t *CheckTable) Row(r check.Result) error {
	r.Answer, r.Expect, r.Consequence = esc(r.Answer), esc(r.Expect), esc(r.Consequence)
	if !t.table {
		_, err := fmt.Fprintf(t.w, "%s\t%s\t%s\t%s\t%s\n", checkGradeText(r.Grade), r.ID, r.Answer, r.Expect, r.Consequence)
		return err
	}
	var b strings.Builder
	if !t.header {
		t.header = true
		b.WriteString(strings.TrimRight(checkPad("RESULT", checkGradeW+2)+checkPad("CASE", t.idW)+checkGap+checkPad("ANSWER", checkAnswerW)+checkGap+"CONSEQUENCE", " ") + "\n")
	}
	indent := checkGradeW + 2 + t.idW + len(checkGap) + checkAnswerW + len(checkGap)
	lead := t.paint(r.Grade, checkGradeText(r.Grade)) + strings.Repeat(" ", checkGradeW+2-len(checkGradeText(r.Grade))) +
		checkPad(r.ID, t.idW) + checkGap + checkPad(checkCut(r.Answer, checkAnswerW), checkAnswerW) + checkGap
	room := t.width - indent
	if room < 24 { // too narrow: the consequence goes on lines of its own
		b.WriteString(strings.TrimRight(lead, " ") + "\n")
		for _, l := range checkWrap(r.Consequence, t.width-checkGradeW-2) {
			b.WriteString(strings.Repeat(" ", checkGradeW+2) + l + "\n")
		}
	} else {
		for i, l := range checkWrap(r.Consequence, room) {
			if i == 0 {
				b.WriteString(lead + l + "\n")
				continue
			}
			b.WriteString(strings.Repeat(" ", indent) + l + "\n")
		}
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

// End writes the reproducer of every failed case, then the summary per
// section.
func (t *CheckTable) End(rs []check.Result) error {
	var b strings.Builder
	first := true
	for _, r := range rs {
		if r.Curl == "" {
			continue
		}
		if first {
			first = false
			if t.table {
				b.WriteString("\n")
				for _, l := range checkWrap("Reproduce a failure with curl: the secrets come from $"+check.EnvPassword+", $"+
					check.EnvCredentials+" or $"+check.EnvKey+"; set the one of your scheme first.", t.width) {
					b.WriteString(l + "\n")
				}
			}
		}
		b.WriteString("\n# reproduce " + r.ID + "\n" + r.Curl + "\n")
	}
	secs := check.BySection(rs)
	total := check.Count(rs)
	if t.table {
		secW := len("SECTION")
		for _, s := range secs {
			secW = max(secW, len(s.Section))
		}
		b.WriteString("\n" + checkPad("SECTION", secW) + "  PASS  WARN  FAIL  SKIP  TITLE\n")
		row := func(name string, c check.Counts, title string) {
			b.WriteString(strings.TrimRight(fmt.Sprintf("%s  %4d  %4d  %s  %4d  %s", checkPad(name, secW), c.Pass, c.Warn,
				t.paintCount(c.Fail), c.Skip, title), " ") + "\n")
		}
		for _, s := range secs {
			row(s.Section, s.Counts, s.Title)
		}
		row("total", total, "")
	} else {
		if len(secs) > 0 {
			b.WriteString("\n")
		}
		for _, s := range secs {
			fmt.Fprintf(&b, "section %s\t%s\t%s\n", s.Section, s.Counts, s.Title)
		}
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

func (t *CheckTable) paintCount(n int) string {
	s := fmt.Sprintf("%4d", n)
	if n > 0 {
		return t.paint(check.Fail, s)
	}
	return s
}

// CheckList writes the cases without running them: ID, what each sends,
// what passes and why. On a terminal the cases are grouped by section
// and wrapped to width; otherwise one tab-separated line per case.
func CheckList(w io.Writer, cases []check.Case, table bool, width int) error {
	var b strings.Builder
	if !table {
		for _, c := range cases {
			fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", c.ID, c.Sends, c.Passes, c.Why)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	if width <= 0 {
		width = DefaultWidth
	}
	idW := 0
	for _, c := range cases {
		idW = max(idW, len(c.ID))
	}
	indent := 2 + idW + 2
	labelW := len("passes") + 2
	room := max(20, width-indent-labelW)
	section := ""
	for _, c := range cases {
		if c.Section != section {
			if section != "" {
				b.WriteString("\n")
			}
			section = c.Section
			b.WriteString(c.Section + "  " + check.SectionTitle(c.Section) + "\n")
		}
		for i, f := range [][2]string{{"sends", c.Sends}, {"passes", c.Passes}, {"why", c.Why}} {
			for j, l := range checkWrap(f[1], room) {
				switch {
				case i == 0 && j == 0:
					b.WriteString("  " + checkPad(c.ID, idW) + "  " + checkPad(f[0], labelW) + l + "\n")
				case j == 0:
					b.WriteString(strings.Repeat(" ", indent) + checkPad(f[0], labelW) + l + "\n")
				default:
					b.WriteString(strings.Repeat(" ", indent+labelW) + l + "\n")
				}
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// pad left-aligns s in n columns.
func checkPad(s string, n int) string {
	if w := utf8.RuneCountInString(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}

// cut shortens s to n columns, ending in "…" when it was longer.
func checkCut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return string(rs[:n-1]) + "…"
}

// wrap breaks s into lines of at most n columns at spaces; a word longer
// than n is broken where it must.
func checkWrap(s string, n int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		for utf8.RuneCountInString(word) > n {
			if line != "" {
				lines, line = append(lines, line), ""
			}
			rs := []rune(word)
			lines, word = append(lines, string(rs[:n])), string(rs[n:])
		}
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= n:
			line += " " + word
		default:
			lines, line = append(lines, line), word
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

// CheckJUnit writes one testcase per case: its name is the case ID, its
// classname the section (3.bearer), so CI groups them as the contract
// does. A failure carries the consequence, the answer and the curl
// reproducer; a skip says why; a warning passes, with its consequence in
// system-out.
func CheckJUnit(w io.Writer, start time.Time, elapsed time.Duration, rs []check.Result, interrupted bool) error {
	secs := fmt.Sprintf("%.3f", elapsed.Seconds())
	counts := check.Count(rs)
	suite := junitSuite{Name: "espfctl check", Tests: len(rs), Failures: counts.Fail, Skipped: counts.Skip, Time: secs,
		Timestamp: start.UTC().Format("2006-01-02T15:04:05"), SystemOut: counts.String()}
	for _, r := range rs {
		tc := junitCase{Name: r.ID, Classname: r.Section, Time: fmt.Sprintf("%.3f", r.LatencyMS/1000)}
		switch r.Grade {
		case check.Fail:
			text := "answer: " + r.Answer + "\nexpected: " + r.Expect + "\n" + r.Consequence
			if r.Curl != "" {
				text += "\n\nreproduce:\n" + r.Curl
			}
			tc.Failure = &junitFailure{Message: r.Consequence, Type: "fail", Text: text}
		case check.Skip:
			tc.Skipped = &junitSkipped{Message: r.Consequence}
		case check.Warn:
			tc.SystemOut = "warn: " + r.Answer + ": " + r.Consequence
		}
		suite.Cases = append(suite.Cases, tc)
	}
	if interrupted { // a cancelled job is never green
		ic := InterruptedCheck("check", elapsed)
		suite.Cases = append(suite.Cases, junitCase{Name: ic.Name, Classname: "check", Time: secs,
			Failure: &junitFailure{Message: ic.Actual, Type: ic.Kind, Text: ic.Actual}})
		suite.Tests++
		suite.Failures++
	}
	return writeJUnit(w, suite, secs)
}
