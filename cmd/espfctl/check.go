package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
)

type checkOptions struct {
	IO   *term.IO
	Auth authFlags

	targetFlags
	Timeout    time.Duration
	Slow       time.Duration
	FirstEvent int64
	Only       []string
	JSON       bool
	JUnit      string
}

func newCheckCmd(ios *term.IO, runF func(context.Context, *checkOptions) error) *cobra.Command {
	opts := &checkOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "check --url URL --auth SCHEME [flags]",
		Short: "Grade a live Application against the ESPF contract",
		Long: `Send a short, fixed series of requests to an Application, one at a time, and
grade each answer by what PortaBilling's ESPF would do with it: exactly 200
delivers, any 4xx drops the event (never provisioned), anything else (201,
204, 3xx, 5xx, a timeout, a connection error) re-sends it, for ever if the
answer never changes.

Checks: ` + strings.Join(check.Names(), ", ") + `.
Each uses its own i_event from --first-event up, far from real data.

Exit 0 when no check failed (warnings allowed), 1 when one failed, 2 on usage
errors, 3 when the Application could not be reached at all.`,
		Example: `  espfctl check --url http://localhost:8080/espf --auth signature --key-id test --key s3cret
  espfctl check --url https://app.example/espf --auth basic --user pb --password-file pw --junit check.xml
  espfctl check --url http://localhost:8080/espf --auth custom --scheme Plain --credentials x --only deliver,redeliver --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF == nil {
				runF = checkRun
			}
			return runF(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	opts.Auth.register(f, withAll)
	opts.targetFlags.register(f)
	f.DurationVar(&opts.Timeout, "timeout", check.DefaultTimeout, "wait this long for each answer (the ESPF waits 300s)")
	f.DurationVar(&opts.Slow, "slow", check.DefaultSlow, "the latency check warns when deliver takes longer than this")
	f.Int64Var(&opts.FirstEvent, "first-event", check.DefaultFirstEvent, "the first i_event the checks use; each check takes the next")
	f.StringSliceVar(&opts.Only, "only", nil, "run only these checks (comma-separated): "+strings.Join(check.Names(), ","))
	f.BoolVar(&opts.JSON, "json", false, "write every check as one JSON object to stdout")
	f.StringVar(&opts.JUnit, "junit", "", "write a JUnit XML file, one testcase per check (warn is not a failure)")
	return cmd
}

func checkRun(ctx context.Context, opts *checkOptions) error {
	ios := opts.IO
	cfg, err := opts.config()
	if err != nil {
		return err
	}
	opts.warnInsecure(ios.Err)
	start := time.Now()
	rs, runErr := check.Run(ctx, cfg)
	elapsed := time.Since(start)
	unreachable := errors.Is(runErr, check.ErrUnreachable)
	interrupted := runErr != nil && ctx.Err() != nil
	if runErr != nil && !unreachable && !interrupted {
		return fmt.Errorf("check: %w", runErr)
	}
	counts := check.Count(rs)
	if opts.JSON {
		rep := report.CheckReport{URL: espf.RedactURL(opts.URL), Scheme: cfg.Auth.Scheme(), Header: cfg.Auth.Header(), Counts: counts, Checks: rs}
		if runErr != nil {
			rep.Error = runErr.Error()
		}
		err = report.CheckJSON(ios.Out, rep)
	} else {
		err = report.CheckText(ios.Out, rs, ios.IsTTY, gradePaint(ios))
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if opts.JUnit != "" {
		if err := writeReportFile(opts.JUnit, func(w io.Writer) error {
			return report.JUnit(w, "check", start, elapsed, report.CheckJUnit(rs), counts.String())
		}); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	fmt.Fprintf(ios.Err, "espfctl: check %s: %s\n", espf.RedactURL(opts.URL), counts)
	switch {
	case interrupted:
		return fmt.Errorf("check interrupted after %d checks: %w", len(rs), runErr)
	case unreachable:
		return fmt.Errorf("check: %w", runErr) // exit 3: nothing was graded against a live answer
	case counts.Fail > 0:
		return &failedError{fmt.Errorf("%d of %d checks failed", counts.Fail, len(rs))}
	}
	return nil
}

// config turns the flags into a check.Config; problems are usage errors.
func (o *checkOptions) config() (check.Config, error) {
	var cfg check.Config
	hdr, tlsCfg, err := o.target()
	if err != nil {
		return cfg, err
	}
	au, err := o.Auth.auth("")
	if err != nil {
		return cfg, err
	}
	sc, err := o.Auth.config(au.Scheme())
	if err != nil {
		return cfg, err
	}
	forged, err := check.Forge(sc)
	if err != nil {
		return cfg, err
	}
	if o.Timeout <= 0 || o.Slow <= 0 || o.FirstEvent <= 0 {
		return cfg, usageErrorf("--timeout, --slow and --first-event must be positive")
	}
	names := check.Names()
	for _, n := range o.Only {
		if !slices.Contains(names, n) {
			return cfg, usageErrorf("--only %q: unknown check; want one of %s", n, strings.Join(names, ", "))
		}
	}
	return check.Config{URL: o.URL, Auth: au, Forged: forged, TLS: tlsCfg, HTTP2: o.HTTP2, Headers: hdr, Timeout: o.Timeout,
		Slow: o.Slow, FirstEvent: o.FirstEvent, Only: o.Only}, nil
}

// gradePaint colors a grade on a terminal: pass green, warn yellow, FAIL red.
func gradePaint(ios *term.IO) func(check.Grade, string) string {
	return func(g check.Grade, s string) string { return report.Colored(ios.Paint, ios.Style(), string(g), s) }
}

// writeReportFile writes a report file through fn, and reports a failed close.
func writeReportFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
