package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Check is one evaluated expectation, as the JUnit and HTML reports show it.
type Check struct {
	Name     string // e.g. "delivered >= 100%"
	Actual   string // the measured value, or "not measured"
	Pass     bool
	Position string // file:line:col of the expectation
	Kind     string // the JUnit failure type: "" is "expectation"; "interrupted"
	Detail   string // more lines for a failure's text: what the Application said
}

// InterruptedCheck is the failing testcase that an interrupted run or check
// adds to its reports, so that a CI never shows a cancelled job as passed.
// what is "run" or "check".
func InterruptedCheck(what string, elapsed time.Duration) Check {
	return Check{Name: what + " completed", Pass: false, Kind: "interrupted",
		Actual: fmt.Sprintf("interrupted after %s (SIGINT or SIGTERM): the results cover only what ran until then", elapsed.Round(10*time.Millisecond))}
}

// The JUnit XML document that run's and check's reports both write.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr,omitempty"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Skipped   int         `xml:"skipped,attr,omitempty"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
	SystemOut string      `xml:"system-out,omitempty"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes one testsuite per scenario with one testcase per
// expectation, so CI systems show each expectation as a test.
func JUnit(w io.Writer, scenario string, start time.Time, elapsed time.Duration, checks []Check, summary string) error {
	secs := fmt.Sprintf("%.3f", elapsed.Seconds())
	suite := junitSuite{Name: scenario, Tests: len(checks), Time: secs,
		Timestamp: start.UTC().Format("2006-01-02T15:04:05"), SystemOut: summary}
	for _, c := range checks {
		tc := junitCase{Name: c.Name, Classname: "espfctl." + scenario, Time: "0", File: c.Position}
		if !c.Pass {
			suite.Failures++
			msg, typ := fmt.Sprintf("expected %s, measured %s", c.Name, c.Actual), "expectation"
			if c.Kind != "" {
				msg, typ = c.Actual, c.Kind
			}
			tc.Failure = &junitFailure{Message: msg, Type: typ, Text: strings.TrimSpace(msg + "\n" + c.Position + "\n" + c.Detail)}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	return writeJUnit(w, suite, secs)
}

// writeJUnit writes one suite as a whole document, the totals repeated on
// the outer element.
func writeJUnit(w io.Writer, suite junitSuite, secs string) error {
	doc := junitSuites{Name: "espfctl", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped, Time: secs,
		Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
