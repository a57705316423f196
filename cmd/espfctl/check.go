package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/schema"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
	xterm "golang.org/x/term"
)

type checkOptions struct {
	IO   *term.IO
	Auth authFlags

	targetFlags
	Select     []string // positional: case IDs or section prefixes
	Timeout    time.Duration
	Slow       time.Duration
	FirstEvent int64
	Only       []string
	List       bool
	Strict     bool
	Copies     int
	Soak       time.Duration
	Rate       sim.Rate // 2/restart's stream
	JSON       bool
	JUnit      string
	Payload    payloadFlag
}

func newCheckCmd(ios *term.IO, runF func(context.Context, *checkOptions) error) *cobra.Command {
	opts := &checkOptions{IO: ios, Rate: sim.Rate{Freq: check.DefaultRestartRate, Per: time.Second}}
	cmd := &cobra.Command{
		Use:   "check --url URL --auth SCHEME [flags] [CASE or SECTION …]",
		Short: "Run the ESPF conformance suite against a live Application",
		Long: `Run the ESPF conformance suite against a live Application: each case sends
what PortaBilling's ESPF sends, or a deliberately wrong variant of it, and
grades the answer by what the ESPF would do with it: exactly 200 delivers,
any 4xx drops the event (never provisioned), anything else (201, 204, 3xx,
5xx, a timeout, a connection error) re-sends it, for ever if the answer never
changes.

Every case has an ID tied to a section of the ESPF contract (1 the request,
2 the answer, 3.<scheme> authorization, 7 the order of deliveries), e.g.
2/exact-200 or 3.bearer/alg-none. --list prints them all without sending
anything; name IDs or section prefixes (3, 3.bearer, 1/tls-) to run a subset.
Cases use their own i_event numbers from --first-event up, far from real data.

With --state-url (where the Application shows an entity's state, e.g.
http://localhost:8080/state/{group}/{id}) the section 7.state sends entity
histories out of order (an Updated before its Created, a re-sent Created
after the Deleted, an Updated after the Deleted) and reads the entity back:
it must end as its events applied in i_event order say. With --restart-cmd
too (a command that kills the Application and starts it again), 2/restart
restarts it in the middle of a stream at --rate: every event answered 200
must show afterwards, and none may be applied twice ("applied" in the state
answer).

One line per case is printed as it finishes, then a curl reproducer for every
failed case (secrets replaced by $ESPFCTL_PASSWORD, $ESPFCTL_CREDENTIALS or
$ESPFCTL_KEY) and a summary per section.

check is the sender: it bounds no Date, so it takes no --max-skew (that is
the receiver's setting: serve and verify). 3.signature/date-hour-old,
3.signature/date-future and 3.bearer/expired are one hour off, beyond any
usual bound and any drift between the two clocks.

Exit 0 when no case failed (warnings allowed, unless --strict), 1 when one
failed, 2 on usage errors, 3 when the Application could not be reached at all,
130 when interrupted (the cases done so far are printed).`,
		Example: `  espfctl check --list
  espfctl check --url http://localhost:8080/espf --auth signature --key-id test --key s3cret
  espfctl check --url https://app.example/espf --auth basic --user pb --password-file pw --junit check.xml
  espfctl check --url http://localhost:8080/espf --auth bearer --key superkey --i-env 3 --soak 0 3.bearer 2/duplicate
  espfctl check --url http://localhost:8080/ --auth signature --key-id test --key s3cret \
      --state-url 'http://localhost:8080/state/{group}/{id}' 7
  espfctl check --url http://localhost:8080/espf --auth custom --scheme Plain --credentials x --strict --json`,
		Args: cobra.ArbitraryArgs, // case IDs and section prefixes, checked by check.Select
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return checkSelectors(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Select = args
			if runF == nil {
				runF = checkRun
			}
			return runF(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	opts.Auth.register(f, withAll&^withSkew) // a sender bounds no Date: see noMaxSkew
	cmd.SetFlagErrorFunc(noMaxSkew("3.signature/date-hour-old, 3.signature/date-future and 3.bearer/expired are one hour off, beyond any usual bound"))
	opts.targetFlags.register(f)
	f.DurationVar(&opts.Timeout, "timeout", check.DefaultTimeout, "wait this long for each answer (the ESPF waits 300s)")
	f.DurationVar(&opts.Slow, "slow", check.DefaultSlow, "the p99 bound: 2/burst warns above it, 2/soak fails")
	f.Int64Var(&opts.FirstEvent, "first-event", check.DefaultFirstEvent, "the first i_event the cases use; each new event takes the next")
	f.StringSliceVar(&opts.Only, "only", nil, "run only these cases or sections (comma-separated), like the arguments")
	f.BoolVar(&opts.List, "list", false, "print the cases (ID, what each sends, what passes, why) without sending anything")
	f.BoolVar(&opts.Strict, "strict", false, "a warning fails the case (exit 1)")
	opts.Payload.register(f)
	f.IntVar(&opts.Copies, "copies", check.DefaultCopies, "how many copies of one event 2/duplicate-concurrent sends at once")
	f.Var(&opts.Rate, "rate", "2/restart (with --restart-cmd): the rate of its stream of events")
	f.DurationVar(&opts.Soak, "soak", check.DefaultSoak, fmt.Sprintf("how long 2/soak sends at %d/s; 0 skips it", check.SoakRate))
	f.BoolVar(&opts.JSON, "json", false, "write every case as one JSON object to stdout (with --list: the cases)")
	f.StringVar(&opts.JUnit, "junit", "", "write a JUnit XML file: one testcase per case, classname = section (warn is not a failure)")
	return cmd
}

func checkRun(ctx context.Context, opts *checkOptions) error {
	if opts.List {
		return checkList(opts)
	}
	ios := opts.IO
	cfg, cases, err := opts.config()
	if err != nil {
		return err
	}
	opts.warnInsecure(ios.Err)
	var table *report.CheckTable
	var writeErr error
	if !opts.JSON {
		table = report.NewCheckTable(ios.Out, cases, ios.IsTTY, termWidth(ios), gradePaint(ios))
		cfg.OnResult = func(r check.Result) {
			if err := table.Row(r); err != nil && writeErr == nil {
				writeErr = err
			}
		}
	}
	start := time.Now()
	rs, runErr := check.Run(ctx, cfg)
	elapsed := time.Since(start)
	unreachable := errors.Is(runErr, check.ErrUnreachable)
	refused := errors.Is(runErr, check.ErrRefused)
	interrupted := runErr != nil && ctx.Err() != nil
	if runErr != nil && !unreachable && !refused && !interrupted {
		return fmt.Errorf("check: %w", runErr)
	}
	counts := check.Count(rs)
	if opts.JSON {
		rep := report.CheckReport{URL: espf.RedactURL(opts.URL), Scheme: cfg.Creds.Scheme, Header: headerName(cfg), Strict: opts.Strict, Checks: rs}
		if runErr != nil {
			rep.Error = runErr.Error()
		}
		writeErr = report.CheckJSON(ios.Out, rep)
	} else if writeErr == nil {
		writeErr = table.End(rs)
	}
	if writeErr != nil {
		return fmt.Errorf("write report: %w", writeErr)
	}
	if opts.JUnit != "" {
		if err := writeReportFile(opts.JUnit, func(w io.Writer) error {
			return report.CheckJUnit(w, start, elapsed, rs, interrupted)
		}); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	fmt.Fprintf(ios.Err, "espfctl: check %s: %s in %s\n", espf.RedactURL(opts.URL), counts, elapsed.Round(time.Millisecond))
	switch {
	case interrupted:
		return fmt.Errorf("check interrupted after %d cases: %w", len(rs), runErr)
	case unreachable:
		return fmt.Errorf("check: %w", runErr) // exit 3: nothing was graded against a live answer
	case refused:
		return &failedError{fmt.Errorf("check: %w", runErr)} // exit 1: the Application refused what the ESPF sends
	case counts.Fail > 0:
		return &failedError{fmt.Errorf("%d of %d cases failed", counts.Fail, len(rs))}
	}
	return nil
}

// checkList prints the cases, for the scheme of --auth when given.
func checkList(opts *checkOptions) error {
	if sc := opts.Auth.Scheme; sc != "" && !slices.Contains(sign.Schemes, sc) {
		return usageErrorf("--auth %q: want one of %s", sc, strings.Join(sign.Schemes, ", "))
	}
	cases, err := check.Select(check.Cases(), opts.Auth.Scheme, append(append([]string(nil), opts.Select...), opts.Only...))
	if err != nil {
		return usageErrorf("%w", err)
	}
	ios := opts.IO
	if opts.JSON {
		// A JSON array: each case carries the schema version (docs/json.md).
		type listed struct {
			SchemaVersion int `json:"schema_version"`
			check.Case
		}
		out := make([]listed, len(cases))
		for i, c := range cases {
			out[i] = listed{schema.Version, c}
		}
		enc := json.NewEncoder(ios.Out)
		enc.SetIndent("", "  ")
		err = enc.Encode(out)
	} else {
		err = report.CheckList(ios.Out, cases, ios.IsTTY, termWidth(ios))
	}
	if err != nil {
		return fmt.Errorf("write list: %w", err)
	}
	return nil
}

// config turns the flags into a check.Config and the selected cases;
// problems are usage errors.
func (o *checkOptions) config() (check.Config, []check.Case, error) {
	var cfg check.Config
	hdr, tlsCfg, err := o.target()
	if err != nil {
		return cfg, nil, err
	}
	au, err := o.Auth.auth("")
	if err != nil {
		return cfg, nil, err
	}
	creds, err := o.Auth.config(au.Scheme())
	if err != nil {
		return cfg, nil, err
	}
	switch {
	case o.Timeout <= 0 || o.Slow <= 0 || o.FirstEvent <= 0:
		return cfg, nil, usageErrorf("--timeout, --slow and --first-event must be positive")
	case o.Copies < 1 || o.Copies > 1000:
		return cfg, nil, usageErrorf("--copies %d: want 1 to 1000", o.Copies)
	case o.Rate.PerSecond() <= 0:
		return cfg, nil, usageErrorf("--rate: want a positive rate, e.g. 50/s")
	case o.Soak < 0:
		return cfg, nil, usageErrorf("--soak %s: must not be negative (0 skips 2/soak)", o.Soak)
	}
	sel := append(append([]string(nil), o.Select...), o.Only...)
	cases, err := check.Select(check.Cases(), au.Scheme(), sel)
	if err != nil {
		return cfg, nil, usageErrorf("%w", err)
	}
	if o.StateURL == "" {
		cases = check.WithoutState(cases, sel)
	}
	if o.RestartCmd == "" {
		cases = check.WithoutRestart(cases, sel)
	}
	return check.Config{URL: o.URL, Creds: creds, TLS: tlsCfg, HTTP2: o.HTTP2, Headers: hdr, CurlArgs: o.curlArgs(),
		Timeout: o.Timeout, Slow: o.Slow, FirstEvent: o.FirstEvent, Select: sel, Strict: o.Strict,
		Copies: o.Copies, Soak: o.Soak, StateURL: o.StateURL, Payload: o.Payload.Payload,
		RestartCmd: o.RestartCmd, Rate: o.Rate.PerSecond()}, cases, nil
}

// curlArgs are the curl options that match the TLS flags, for reproducers.
func (o *checkOptions) curlArgs() []string {
	var args []string
	if o.TLS.CAFile != "" {
		args = append(args, "--cacert", o.TLS.CAFile)
	}
	if o.TLS.CertFile != "" {
		args = append(args, "--cert", o.TLS.CertFile, "--key", o.TLS.KeyFile)
	}
	if o.TLS.InsecureSkipVerify {
		args = append(args, "-k")
	}
	return args
}

func headerName(cfg check.Config) string {
	if cfg.Creds.HeaderName == "" {
		return "Authorization"
	}
	return cfg.Creds.HeaderName
}

// termWidth is $COLUMNS, else the width of the terminal stdout is, else
// report's default.
func termWidth(ios *term.IO) int {
	if n, err := strconv.Atoi(strings.TrimSpace(os.Getenv("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	if f, ok := ios.Out.(*os.File); ok {
		if w, _, err := xterm.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return report.DefaultWidth
}

// gradePaint colors a grade on a terminal: pass green, warn yellow, FAIL red.
func gradePaint(ios *term.IO) func(check.Grade, string) string {
	pal := ios.Palette()
	return func(g check.Grade, s string) string { return pal.Level(string(g), s) }
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
