package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/term"
)

// CheckReport is check's --json document: one object with every check.
type CheckReport struct {
	URL    string         `json:"url"`
	Scheme string         `json:"scheme"`
	Header string         `json:"header"`
	Counts check.Counts   `json:"counts"`
	Checks []check.Result `json:"checks"`
	Error  string         `json:"error,omitempty"` // e.g. the Application could not be reached
}

// CheckJSON writes rep as one indented object.
func CheckJSON(w io.Writer, rep CheckReport) error {
	if rep.Checks == nil {
		rep.Checks = []check.Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// CheckText writes one line per check: grade, check, answer, expectation,
// consequence. With table set (a terminal) the columns are aligned under a
// header and paint styles the grade; otherwise lines are tab-separated
// and plain, for grep and cut.
func CheckText(w io.Writer, rs []check.Result, table bool, paint func(check.Grade, string) string) error {
	out := term.NewTable(w, table, term.Palette{})
	if table {
		out.Row("RESULT", "CHECK", "ANSWER", "EXPECTED", "CONSEQUENCE")
	}
	for _, r := range rs {
		g := strings.ToUpper(string(r.Grade))
		if r.Grade != check.Fail {
			g = string(r.Grade)
		}
		if table {
			g = paint(r.Grade, g)
		}
		fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\n", g, r.Name, r.Answer, r.Expect, r.Consequence)
	}
	return out.Flush()
}

// CheckJUnit turns check results into Check rows for JUnit: one
// testcase per check; only fail is a failure (warn and skip pass, with
// their consequence in the measured value).
func CheckJUnit(rs []check.Result) []Check {
	out := make([]Check, len(rs))
	for i, r := range rs {
		out[i] = Check{Name: r.Name + ": " + r.Expect, Pass: r.Grade != check.Fail,
			Actual: fmt.Sprintf("%s (%s): %s", r.Answer, r.Grade, r.Consequence)}
	}
	return out
}
