package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/runner"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
)

type runOptions struct {
	IO         *term.IO
	Files      []string // each is run in turn
	File       string   // the one being run
	JSON       bool
	JSONFile   string
	JUnitFile  string
	HTMLFile   string
	Results    string
	Seed       int64
	NoProgress bool
	fileTag    string // "-NAME" added to report files when several files run
}

func newRunCmd(ios *term.IO, runF func(context.Context, *runOptions) error) *cobra.Command {
	opts := &runOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "run SCENARIO.yaml...",
		Short: "Run a scenario file and check its expectations",
		Long: `Run a scenario: send its phases to its target (or to the built-in reference
receiver when it has none), then check every expectation and print the
report. Exits 0 when every expectation holds, 1 when one fails, 2 when the
scenario is invalid. Several files run one after the other, each reported;
the exit code is the worst of theirs.

Report files (JSON, JUnit XML, self-contained HTML) are written where the
scenario's report: section or the flags say; flags win.`,
		Example: `  espfctl run scenarios/quickstart.yaml
  espfctl run my-app.yaml --junit junit.xml --html report.html
  espfctl run scenarios/quickstart.yaml scenarios/basic.yaml --junit out/junit.xml   # out/junit-quickstart.xml, out/junit-basic.xml
  APP_URL=https://app.example.com/espf espfctl run scenarios/template.yaml --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if runF == nil {
				runF = runFiles
			}
			return runF(cmd.Context(), opts)
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

// runFiles runs each file in turn. One file's error is returned as is;
// with several, each failure is said as it happens and the exit code is
// the worst of theirs. Report files get the scenario file's name added
// (junit.xml → junit-quickstart.xml) so that one does not overwrite
// another. An interrupt stops the files not yet started.
func runFiles(ctx context.Context, opts *runOptions) error {
	if len(opts.Files) == 1 {
		one := *opts
		one.File = opts.Files[0]
		return runRun(ctx, &one)
	}
	worst := exitOK
	var failed []string
	for i, file := range opts.Files {
		if ctx.Err() != nil {
			failed = append(failed, fmt.Sprintf("%d not run (interrupted)", len(opts.Files)-i))
			break
		}
		one := *opts
		one.File = file
		tag := "-" + strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		for _, p := range []*string{&one.JSONFile, &one.JUnitFile, &one.HTMLFile, &one.Results} {
			*p = perFile(*p, tag)
		}
		one.fileTag = tag
		if !opts.JSON {
			fmt.Fprintf(opts.IO.Out, "%sscenario file %s\n", map[bool]string{true: "\n", false: ""}[i > 0], term.Escape(file))
		}
		err := runRun(ctx, &one)
		if err == nil {
			continue
		}
		code := exitCode(ctx, err)
		worst = max(worst, code)
		fmt.Fprintf(opts.IO.Err, "espfctl: %s\n", message(err))
		failed = append(failed, fmt.Sprintf("%s (exit %d)", term.Escape(file), code))
	}
	if len(failed) == 0 {
		return nil
	}
	return &codedError{code: worst, msg: fmt.Sprintf("%d of %d scenario files did not pass: %s", len(failed), len(opts.Files), strings.Join(failed, ", "))}
}

// perFile is path with tag before its extension; "" stays "".
func perFile(path, tag string) string {
	if path == "" {
		return ""
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + tag + ext
}

// codedError is an error whose exit code was decided already (run's worst
// of several files).
type codedError struct {
	code int
	msg  string
}

func (e *codedError) Error() string { return e.msg }
func (e *codedError) ExitCode() int { return e.code }

func runRun(ctx context.Context, opts *runOptions) error {
	s, err := scenario.Load(opts.File)
	if err != nil {
		for _, e := range scenario.Errors(err) {
			fmt.Fprintln(opts.IO.Err, term.Escape(e.Error()))
		}
		return &usageError{fmt.Errorf("%s is not a valid scenario (%d problems)", opts.File, len(scenario.Errors(err)))}
	}
	for dst, src := range map[*string]string{&s.Report.JSON: opts.JSONFile, &s.Report.JUnit: opts.JUnitFile, &s.Report.HTML: opts.HTMLFile, &s.Report.Results: opts.Results} {
		switch {
		case src != "":
			*dst = src
		case *dst != "" && opts.fileTag != "":
			*dst = perFile(*dst, opts.fileTag) // two scenarios may name the same report file
		}
	}
	if s.Target != nil && s.Target.TLS.InsecureSkipVerify {
		fmt.Fprintln(opts.IO.Err, "espfctl: warning: target.tls.insecure_skip_verify is set: the Application's certificate is not checked")
	}
	where := "the built-in receiver"
	if s.Target != nil {
		where = espf.RedactURL(s.Target.URL)
	}
	fmt.Fprintf(opts.IO.Err, "running %s: %d phase(s) to %s\n", term.Escape(s.Name), len(s.Phases), term.Escape(where))
	ro := runner.Options{Seed: opts.Seed, Stdin: opts.IO.In, Log: opts.IO.Err}
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
	var werr error
	if opts.JSON {
		werr = report.RunJSON(opts.IO.Out, res, false)
	} else {
		werr = report.RunText(opts.IO.Out, res, opts.IO.Layout())
	}
	if werr != nil {
		return fmt.Errorf("write report: %w", werr)
	}
	if res.Interrupted() {
		return fmt.Errorf("%s interrupted after %s; the report covers what was sent until then", s.Name, res.Elapsed.Round(1e7))
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
		fmt.Fprintf(opts.IO.Err, "wrote %s\n", term.Escape(path))
		return nil
	}
	if err := write(rep.JSON, func(w io.Writer) error { return report.RunJSON(w, res, true) }); err != nil {
		return err
	}
	if err := write(rep.JUnit, func(w io.Writer) error { return report.RunJUnit(w, res) }); err != nil {
		return err
	}
	return write(rep.HTML, func(w io.Writer) error { return report.RunHTML(w, res) })
}
