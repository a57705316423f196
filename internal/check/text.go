package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/espfctl/espfctl/internal/report"
)

// Counts tallies the grades of a run.
type Counts struct {
	Pass int `json:"pass"`
	Warn int `json:"warn"`
	Fail int `json:"fail"`
	Skip int `json:"skip"`
}

// Count tallies rs.
func Count(rs []Result) Counts {
	var c Counts
	for _, r := range rs {
		switch r.Grade {
		case Pass:
			c.Pass++
		case Warn:
			c.Warn++
		case Fail:
			c.Fail++
		case Skip:
			c.Skip++
		}
	}
	return c
}

func (c Counts) String() string {
	return fmt.Sprintf("%d passed, %d warned, %d failed, %d skipped", c.Pass, c.Warn, c.Fail, c.Skip)
}

// Report is the --json document: one object with every check.
type Report struct {
	URL    string   `json:"url"`
	Scheme string   `json:"scheme"`
	Header string   `json:"header"`
	Counts Counts   `json:"counts"`
	Checks []Result `json:"checks"`
	Error  string   `json:"error,omitempty"` // e.g. the Application could not be reached
}

// JSON writes rep as one indented object.
func JSON(w io.Writer, rep Report) error {
	if rep.Checks == nil {
		rep.Checks = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// Text writes one line per check: grade, check, answer, expectation,
// consequence. With table set (a terminal) the columns are aligned under a
// header and paint styles the grade; otherwise lines are tab-separated
// and plain, for grep and cut.
func Text(w io.Writer, rs []Result, table bool, paint func(Grade, string) string) error {
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		out = tw
		fmt.Fprintln(out, "RESULT\tCHECK\tANSWER\tEXPECTED\tCONSEQUENCE")
	}
	for _, r := range rs {
		g := strings.ToUpper(string(r.Grade))
		if r.Grade != Fail {
			g = string(r.Grade)
		}
		if table {
			g = paint(r.Grade, g)
		}
		fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\n", g, r.Name, r.Answer, r.Expect, r.Consequence)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// JUnitChecks turns results into report.Check rows for report.JUnit: one
// testcase per check; only fail is a failure (warn and skip pass, with
// their consequence in the measured value).
func JUnitChecks(rs []Result) []report.Check {
	out := make([]report.Check, len(rs))
	for i, r := range rs {
		out[i] = report.Check{Name: r.Name + ": " + r.Expect, Pass: r.Grade != Fail,
			Actual: fmt.Sprintf("%s (%s): %s", r.Answer, r.Grade, r.Consequence)}
	}
	return out
}
