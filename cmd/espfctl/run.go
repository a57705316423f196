package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/runner"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
)

type runOptions struct {
	IO         *term.IO
	File       string
	JSON       bool
	JSONFile   string
	JUnitFile  string
	HTMLFile   string
	Results    string
	Seed       int64
	NoProgress bool
}

func newRunCmd(ios *term.IO, runF func(context.Context, *runOptions) error) *cobra.Command {
	opts := &runOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "run SCENARIO.yaml",
		Short: "Run a scenario file and check its expectations",
		Long: `Run a scenario: send its phases to its target (or to the built-in reference
receiver when it has none), then check every expectation and print the
report. Exits 0 when every expectation holds, 1 when one fails, 2 when the
scenario is invalid.

Report files (JSON, JUnit XML, self-contained HTML) are written where the
scenario's report: section or the flags say; flags win.`,
		Example: `  espfctl run scenarios/quickstart.yaml
  espfctl run my-app.yaml --junit junit.xml --html report.html
  APP_URL=https://app.example.com/espf espfctl run scenarios/template.yaml --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.JSON, "json", false, "print the run's report as one JSON object on stdout")
	f.StringVar(&opts.JSONFile, "report-json", "", "write the JSON report to this file")
	f.StringVar(&opts.JUnitFile, "junit", "", "write a JUnit XML file, one testcase per expectation")
	f.StringVar(&opts.HTMLFile, "html", "", "write a self-contained HTML report with charts")
	f.StringVar(&opts.Results, "results", "", "write every attempt to this file as JSON lines (for espfctl report)")
	f.Int64Var(&opts.Seed, "seed", 1, "seed for poisson gaps, ids, mix, jitter and duplicates")
	f.BoolVar(&opts.NoProgress, "no-progress", false, "do not show progress on stderr")
	return cmd
}

// runReport is `espfctl run --json`. Fields are added, never renamed.
type runReport struct {
	Scenario     string            `json:"scenario"`
	File         string            `json:"file"`
	Pass         bool              `json:"pass"`
	URL          string            `json:"url"`
	Builtin      bool              `json:"builtin_receiver"`
	ElapsedS     float64           `json:"elapsed_s"`
	Expectations []expectationJSON `json:"expectations"`
	Summary      *report.Summary   `json:"summary"`
	Receiver     any               `json:"receiver,omitempty"`
	Measured     scenario.Measured `json:"measured"`
}

type expectationJSON struct {
	Metric   string   `json:"metric"`
	Op       string   `json:"op"`
	Bound    float64  `json:"bound"`
	Expected string   `json:"expected"`
	Actual   *float64 `json:"actual"`
	Measured string   `json:"measured"`
	Pass     bool     `json:"pass"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
}

func runRun(ctx context.Context, opts *runOptions) error {
	s, err := scenario.Load(opts.File)
	if err != nil {
		for _, e := range scenario.Errors(err) {
			fmt.Fprintln(opts.IO.Err, e)
		}
		return &usageError{fmt.Errorf("%s is not a valid scenario (%d problems)", opts.File, len(scenario.Errors(err)))}
	}
	for dst, src := range map[*string]string{&s.Report.JSON: opts.JSONFile, &s.Report.JUnit: opts.JUnitFile, &s.Report.HTML: opts.HTMLFile, &s.Report.Results: opts.Results} {
		if src != "" {
			*dst = src
		}
	}
	if s.Target != nil && s.Target.TLS.InsecureSkipVerify {
		fmt.Fprintln(opts.IO.Err, "espfctl: warning: target.tls.insecure_skip_verify is set: the Application's certificate is not checked")
	}
	where := "the built-in receiver"
	if s.Target != nil {
		where = espf.RedactURL(s.Target.URL)
	}
	fmt.Fprintf(opts.IO.Err, "running %s: %d phase(s) to %s\n", s.Name, len(s.Phases), where)
	ro := runner.Options{Seed: opts.Seed}
	if !opts.NoProgress {
		ro.Progress, ro.ProgressEvery = progress(opts.IO)
	}
	res, err := runner.Run(ctx, s, ro)
	if opts.IO.ErrTTY && !opts.NoProgress {
		fmt.Fprint(opts.IO.Err, "\r\x1b[K")
	}
	if res == nil {
		return runError(err)
	}
	if err := writeReports(opts, res); err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(buildRunReport(res)); err != nil {
			return err
		}
	} else {
		if err := renderRun(opts.IO, res); err != nil {
			return err
		}
	}
	if res.Interrupted() {
		return fmt.Errorf("%s interrupted after %s; the report covers what was sent until then: %w", s.Name, res.Elapsed.Round(1e7), err)
	}
	if err != nil {
		return runError(err)
	}
	failed := 0
	for _, o := range res.Outcomes {
		if !o.Pass {
			failed++
		}
	}
	if failed > 0 {
		return &failedError{fmt.Errorf("%s: %d of %d expectations failed", s.Name, failed, len(res.Outcomes))}
	}
	return nil
}

// runError classifies a runner error: what the scenario names but loading
// could not check (a missing events file, a bad certificate) is invalid
// input, exit 2; anything else (a port that will not bind) is exit 3.
func runError(err error) error {
	var in *runner.InputError
	if errors.As(err, &in) {
		return &usageError{err}
	}
	return err
}

func buildRunReport(res *report.Run) runReport {
	r := runReport{Scenario: res.Scenario.Name, File: res.Scenario.File, Pass: res.Pass(), URL: res.URL,
		Builtin: res.Builtin, ElapsedS: res.Elapsed.Seconds(), Summary: res.Summary, Measured: res.Measured,
		Expectations: []expectationJSON{}}
	if res.Receiver != nil {
		r.Receiver = res.Receiver
	}
	for _, o := range res.Outcomes {
		e := o.Expectation
		x := expectationJSON{Metric: e.Metric.Key, Op: e.Op, Bound: e.Value, Expected: e.String(), Measured: o.ActualText(),
			Pass: o.Pass, Line: e.Line, Col: e.Col}
		if o.Measured {
			v := o.Actual
			x.Actual = &v
		}
		r.Expectations = append(r.Expectations, x)
	}
	return r
}

func checks(res *report.Run) []report.Check {
	var out []report.Check
	for _, o := range res.Outcomes {
		e := o.Expectation
		out = append(out, report.Check{Name: e.String(), Actual: o.ActualText(), Pass: o.Pass,
			Position: fmt.Sprintf("%s:%d:%d", res.Scenario.File, e.Line, e.Col)})
	}
	return out
}

// renderRun prints the sender's summary, the built-in receiver's counts and
// the expectations, in the summary's style: headings and aligned columns on
// a terminal, plain "key<TAB>value…" lines otherwise (for grep and cut).
func renderRun(ios *term.IO, res *report.Run) error {
	if err := renderSummary(ios, res.Summary, false); err != nil {
		return err
	}
	table := ios.IsTTY
	base := ios.Style()
	ok := base.Foreground(lipgloss.Color("2")).Bold(true)
	bad := base.Foreground(lipgloss.Color("1")).Bold(true)
	var out io.Writer = ios.Out
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
		out = tw
	}
	head := func(t string) {
		if table {
			fmt.Fprintf(out, "\n%s\n", ios.Paint(base.Bold(true), t))
		}
	}
	if st := res.Receiver; st != nil {
		head("Built-in receiver")
		fmt.Fprintf(out, "receiver\tdeliveries %d\tfirst-delivered %d\tduplicates %d\tauth failures %d\tfaults %d\n",
			st.Deliveries, st.FirstDelivered, st.Duplicates, st.AuthFailures, st.Faults)
	}
	head("Expectations")
	for _, c := range checks(res) {
		mark := ios.Paint(ok, "pass")
		if !c.Pass {
			mark = ios.Paint(bad, "FAIL")
		}
		fmt.Fprintf(out, "expect\t%s\t%s\tmeasured %s\t%s\n", mark, c.Name, c.Actual, c.Position)
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	verdict := ios.Paint(ok, "PASS")
	switch {
	case res.Interrupted():
		verdict = ios.Paint(bad, "INTERRUPTED")
	case !res.Pass():
		verdict = ios.Paint(bad, "FAIL")
	}
	if table {
		_, err := fmt.Fprintf(ios.Out, "\n%s %s in %s\n", verdict, res.Scenario.Name, res.Elapsed.Round(10*time.Millisecond))
		return err
	}
	_, err := fmt.Fprintf(ios.Out, "result\t%s\t%s\t%s\n", verdict, res.Scenario.Name, res.Elapsed.Round(10*time.Millisecond))
	return err
}

// writeReports writes the JSON, JUnit and HTML files the scenario or the
// flags ask for.
func writeReports(opts *runOptions, res *report.Run) error {
	rep := res.Scenario.Report
	write := func(path string, fn func(io.Writer) error) error {
		if path == "" {
			return nil
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
		}
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		bw := bufio.NewWriter(f)
		if err := fn(bw); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := bw.Flush(); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(opts.IO.Err, "wrote %s\n", path)
		return nil
	}
	if err := write(rep.JSON, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(buildRunReport(res))
	}); err != nil {
		return err
	}
	if err := write(rep.JUnit, func(w io.Writer) error {
		var sum strings.Builder
		_ = report.SummaryText(&sum, res.Summary, false, func(_ lipgloss.Style, s string) string { return s }, lipgloss.NewStyle())
		return report.JUnit(w, res.Scenario.Name, res.Start, res.Elapsed, checks(res), sum.String())
	}); err != nil {
		return err
	}
	return write(rep.HTML, func(w io.Writer) error { return report.HTML(w, htmlPage(res)) })
}

func htmlPage(res *report.Run) report.Page {
	s := res.Summary
	o := s.Outcomes
	p := report.Page{Title: res.Scenario.Name, Subtitle: res.Scenario.File + " → " + res.URL, Generated: res.Start.Add(res.Elapsed),
		Pass: res.Pass(), Checks: checks(res), Series: res.Series,
		Outcomes: []report.Bar{{Label: "delivered first try", Value: o.DeliveredFirstTry, Class: "ok"},
			{Label: "delivered after retries", Value: o.DeliveredAfterRetry, Class: "ok"},
			{Label: "dropped (4xx)", Value: o.DroppedBy4xx, Class: "warn"},
			{Label: "gave up", Value: o.GaveUp, Class: "bad"},
			{Label: "still pending", Value: o.StillPending, Class: "bad"}}}
	for _, k := range sortedAnswerKeys(s.ByAnswer) {
		class := "bad"
		switch {
		case k == "200":
			class = "ok"
		case strings.HasPrefix(k, "4") && len(k) == 3:
			class = "warn"
		}
		p.Answers = append(p.Answers, report.Bar{Label: k, Value: s.ByAnswer[k], Class: class})
	}
	l := s.Latency
	p.Stats = [][2]string{
		{"events", fmt.Sprint(s.Events)}, {"attempts", fmt.Sprint(s.Attempts)},
		{"target rate", fmt.Sprintf("%.2f/s", s.TargetRate)}, {"achieved rate", fmt.Sprintf("%.2f/s", s.AchievedRate)},
		{"latency p50 / p90 / p99 / p99.9 / max (from intended send time)", fmt.Sprintf("%.1f / %.1f / %.1f / %.1f / %.1f ms", l.P50MS, l.P90MS, l.P99MS, l.P999MS, l.MaxMS)},
		{"service time p50 / p99", fmt.Sprintf("%.1f / %.1f ms", s.Service.P50MS, s.Service.P99MS)},
		{"duplicates sent / findings", fmt.Sprintf("%d / %d", s.Duplicates.Sent, s.Duplicates.Findings)},
		{"elapsed", res.Elapsed.Round(1e7).String()},
	}
	return p
}

func sortedAnswerKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	return keys
}
