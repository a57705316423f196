package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/runner"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
)

type sendOptions struct {
	IO   *term.IO
	Auth authFlags

	targetFlags
	Rate     sim.Rate
	Arrival  string
	Count    int64
	Duration time.Duration

	Types      []string
	Mix        string
	IDs        string // entity id range MIN-MAX
	FirstEvent int64
	StringIDs  bool
	Events     string
	Renumber   bool
	AllowType  bool // --allow-unknown-type
	Payload    payloadFlag
	Vars       []string // --var NAME=VALUE
	ListTypes  bool

	Timeout        time.Duration
	RetryInterval  time.Duration
	RetryBackoff   string
	RetryJitter    float64
	MaxAttempts    int
	MaxInFlight    int
	Duplicates     float64
	DuplicateDelay time.Duration
	Drain          time.Duration
	Seed           int64

	Results    string
	NoProgress bool

	drainSet      bool // --drain was given
	duplicatesSet bool // --duplicates was given
	JSON          bool

	API        apiFlags
	Lifecycle  lifecycleFlags
	NoCoalesce bool
}

func newSendCmd(ios *term.IO, runF func(context.Context, *sendOptions) error) *cobra.Command {
	opts := &sendOptions{IO: ios, Rate: sim.DefaultRate}
	cmd := &cobra.Command{
		Use:   "send --url URL [flags]",
		Short: "POST signed ESPF events as PortaBilling does, and measure the answers",
		Long: `Send ESPF events to an Application exactly as PortaBilling's ESPF does: open-loop
pacing, a fresh Date and signature on every attempt, and the ESPF's reaction to
each answer: 200 delivers, any 4xx drops the event (it is never provisioned),
anything else (other 2xx, 3xx, 5xx, a timeout, a connection error) re-sends it.

The report shows latency from the intended send time (no coordinated omission)
and service time, achieved against target rate, and every event's outcome.
Re-sends wait 1 s, 2 s, 4 s, 8 s, then 10 s each (± 10 %), 10 attempts in
all: an event that meets nothing but connection errors gives up about 65 s
after its first attempt, so a routine restart of the Application loses
nothing and a run still ends.

--events FILE replays JSON lines: a line with "body" (what journal --json
prints) is sent byte for byte with its recorded i_event (--renumber gives new
ones); an {event_type, variables} line is encoded. The whole file is checked
before the first request; - reads standard input.

--lifecycle sends entity histories (Created, Updated × --updates, then
Deleted for a --deleted share) of --entities accounts, customers, invoices
and DIDs, --active of them interleaved at a time. --state-url reads every
entity back from the Application after the drain and compares it with its
delivered events applied in i_event order; the report says which entities
differ and how their events were reordered. --api-listen hosts PortaBilling's
side: the status callbacks and the PortaBilling API (Session/login,
Account/get_account_info…) the Application reads each entity back from; every
entity exists there from its event's emission. --restart-cmd (with
--state-url) kills the Application and starts it again --restarts times while
requests are in flight: nothing answered 200 may be lost, nothing applied
twice.

Exit 0 when every event was delivered (or superseded by coalescing) and the
final state matches, 1 otherwise, 2 on usage errors or a bad --events line,
3 when it could not run.`,
		Example: `  espfctl send --url http://localhost:8080/espf --auth signature --key-id test --key s3cret --count 100
  espfctl send --url https://app.example/espf --auth basic --user pb --password-file pw \
      --rate 50/s --arrival poisson --duration 1m --mix Subscriber/Created=5,Customer/Updated=1
  espfctl send --url http://localhost:8080/espf --auth custom --scheme Plain --credentials x \
      --events journal.jsonl --results attempts.jsonl --json
  espfctl journal events.db --json | espfctl send --url http://localhost:8080/espf --auth bearer \
      --key-file key.txt --i-env 3 --ttl 10m --events - --renumber --first-event 100000
  espfctl send --url http://localhost:8080/espf --auth signature --key-id test --key s3cret \
      --lifecycle --entities 500 --active 20 --state-url 'http://localhost:8080/state/{group}/{id}'
  espfctl send --url http://localhost:8080/espf --auth signature --key-id test --key s3cret --lifecycle \
      --api-listen 127.0.0.1:8443 --api-login app --api-password-file api-pw --api-tls-self-signed --api-ca-out api-ca.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.drainSet = cmd.Flags().Changed("drain")
			opts.Lifecycle.changed(cmd.Flags())
			opts.targetFlags.changed(cmd.Flags())
			opts.duplicatesSet = cmd.Flags().Changed("duplicates")
			if runF == nil {
				runF = sendRun
			}
			return runF(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	opts.Auth.register(f, (withAll|withExpiry)&^withSkew) // a sender bounds no Date
	cmd.SetFlagErrorFunc(noMaxSkew(""))
	opts.targetFlags.register(f)
	opts.targetFlags.registerRestarts(f)
	f.Var(&opts.Rate, "rate", "events per period: 10, 10/s, 50/1s, 600/1m")
	f.StringVar(&opts.Arrival, "arrival", "constant", "arrival process: constant or poisson (seeded by --seed)")
	f.Int64Var(&opts.Count, "count", 0, "send this many events (0 with no --duration: until interrupted or --events ends)")
	f.DurationVar(&opts.Duration, "duration", 0, "send for this long")
	f.StringArrayVar(&opts.Types, "type", nil, "event type from the ESPF catalog (repeatable; default "+event.DefaultType+")")
	f.BoolVar(&opts.AllowType, "allow-unknown-type", false, "send --type/--mix types that are not in the ESPF catalog")
	f.StringVar(&opts.Mix, "mix", "", "weighted event types, e.g. Subscriber/Created=5,Customer/Updated=1")
	f.StringVar(&opts.IDs, "ids", fmt.Sprintf("%d-%d", event.DefaultIDMin, event.DefaultIDMax), "entity ids (i_account, i_customer…) are drawn from this range MIN-MAX")
	f.Int64Var(&opts.FirstEvent, "first-event", 1, "the first i_event; each event gets the next")
	f.BoolVar(&opts.StringIDs, "string-ids", false, "send i_* ids as strings of digits, as one documentation page shows")
	opts.Payload.register(f)
	f.BoolVar(&opts.ListTypes, "list-types", false, "print the embedded event catalog (type, kind, variables, what --lifecycle sends it as) and exit; with --json, one JSON line per type")
	f.StringArrayVar(&opts.Vars, "var", nil, "set this variable in every generated event, over its generated value: NAME=VALUE (repeatable; JSON values stay JSON: i_account=1000889 is a number, 'number=\"0123\"' a string)")
	f.StringVar(&opts.Events, "events", "", "replay this JSONL file in order (- = standard input): recorded bodies byte for byte, or {event_type, variables}")
	f.BoolVar(&opts.Renumber, "renumber", false, "--events: give every event a new i_event from --first-event (only the i_event value is rewritten)")
	f.DurationVar(&opts.Timeout, "timeout", sim.DefaultTimeout, "wait this long for a whole answer (status and body) before re-sending (the ESPF's default)")
	f.DurationVar(&opts.RetryInterval, "retry-interval", sim.DefaultRetryInterval, "the first wait before re-sending a failed event")
	f.StringVar(&opts.RetryBackoff, "retry-backoff", string(sim.DefaultBackoff), "exponential (doubling, capped at 10 × --retry-interval) or fixed")
	f.Float64Var(&opts.RetryJitter, "retry-jitter", sim.DefaultJitter, "± fraction of each retry wait, 0 to 1")
	f.IntVar(&opts.MaxAttempts, "max-attempts", sim.DefaultMaxAttempts, "attempts per event, the first included")
	f.IntVar(&opts.MaxInFlight, "max-in-flight", sim.DefaultMaxInFlight, "cap on requests in flight; the report says when it binds")
	f.Float64Var(&opts.Duplicates, "duplicates", 0, "fraction (0 to 1) of delivered events to send again later, to test idempotency")
	f.DurationVar(&opts.DuplicateDelay, "duplicate-delay", 0, "wait before sending a duplicate (default --retry-interval)")
	f.DurationVar(&opts.Drain, "drain", 0, "after the schedule, wait at most this long for events still waiting to be re-sent (default: the retry waits' longest total + "+sim.DrainMargin.String()+", "+sim.DefaultDrainFor(sim.DefaultRetry()).String()+" with the default retry flags)")
	f.Int64Var(&opts.Seed, "seed", 1, "seed for poisson gaps, ids, mix, jitter and duplicates")
	f.StringVar(&opts.Results, "results", "", "write every attempt to this file as JSON lines (for espfctl report)")
	f.BoolVar(&opts.JSON, "json", false, "write the final report as JSON to stdout")
	f.BoolVar(&opts.NoProgress, "no-progress", false, "do not show progress on stderr")
	opts.API.register(f)
	opts.Lifecycle.register(f)
	f.BoolVar(&opts.NoCoalesce, "no-coalesce", false, "re-send every event; by default, as PortaBilling since MR115, a newer event of the 11 coalesced types supersedes an older one of its account or customer that waits for a re-send")
	return cmd
}

func sendRun(ctx context.Context, opts *sendOptions) error {
	ios := opts.IO
	if opts.ListTypes {
		entries := report.Catalog(event.Default())
		if opts.JSON {
			return report.CatalogJSON(ios.Out, entries)
		}
		return report.CatalogText(ios.Out, entries, ios.Layout())
	}
	s, err := opts.scenario()
	if err != nil {
		return err
	}
	opts.warnInsecure(ios.Err)
	opts.Auth.warn(ios.Err, true)
	opts.API.warnOpen(ios.Err)
	warnVars(ios.Err, s.Events.Gen)
	ro := runner.Options{Seed: opts.Seed, Stdin: ios.In, Log: ios.Err}
	if !opts.NoProgress {
		ro.Progress, ro.ProgressEvery = progress(ios)
	}
	res, runErr := runner.Run(ctx, s, ro)
	if res == nil {
		return sendError(runErr)
	}
	sum := res.Summary
	if ios.ErrTTY && !opts.NoProgress {
		fmt.Fprintln(ios.Err)
	}
	if err := renderSummary(ios, sum, opts.JSON); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if sum.Outcomes.DroppedBy4xx > 0 {
		fmt.Fprintf(ios.Err, "espfctl: warning: %d events answered 4xx were dropped: the ESPF would never provision them\n", sum.Outcomes.DroppedBy4xx)
	}
	if d := sum.Durability; d != nil && len(d.Restarts) < opts.Restarts && runErr == nil {
		fmt.Fprintf(ios.Err, "espfctl: warning: %d of --restarts %d restarts ran: the stream ended first (send more events: --count, --duration, --entities)\n", len(d.Restarts), opts.Restarts)
	}
	if sum.CapBound > 0 {
		fmt.Fprintf(ios.Err, "espfctl: warning: --max-in-flight %d bound %d times: sends waited for a free slot\n", sum.MaxInFlight, sum.CapBound)
	}
	var unreachable *runner.UnreachableError
	switch {
	case runErr != nil && ctx.Err() != nil:
		return errors.New("send interrupted; the report covers what was sent until then")
	case errors.As(runErr, &unreachable) && !sum.AllDelivered():
		// nothing was ever answered: the run could not test anything
		// (exit 3), said with what fixes it
		return errors.New(sum.NotDeliveredText())
	case runErr != nil:
		return sendError(runErr)
	case !sum.AllDelivered():
		return &failedError{errors.New(sum.NotDeliveredText())}
	case !sum.Durability.Passed():
		return &failedError{errors.New(sum.Durability.Failure())}
	case !sum.FinalState.Passed():
		return &failedError{errors.New(sum.FinalState.Failure())}
	}
	return nil
}

// RestartDuplicates is send's --duplicates with --restart-cmd when it is
// not given: copies of delivered events, re-sent a retry interval later,
// cross the restarts as the ESPF's re-sends of an answer a crash cut off
// do, and an Application must not apply them again.
const RestartDuplicates = 0.25

// sendKeys names the run description's keys as send's flags, for the
// problems the run finds in what the flags name (a file, a certificate).
var sendKeys = map[string]string{
	"auth":             "the credential flags",
	"events":           "--type, --mix",
	"events.file":      "--events",
	"events.lifecycle": "--lifecycle",
	"target.tls":       "TLS flags (--ca-file, --cert, --cert-key)",
	"api.tls":          "--api-tls-self-signed, --api-ca-out, --api-tls-cert, --api-tls-key",
	"api.listen":       "--api-listen",
	"report.results":   "--results",
}

// sendError says what the run could not do in send's words: a problem
// with what a flag names is a usage error naming the flag.
func sendError(err error) error {
	var in *runner.InputError
	if !errors.As(err, &in) {
		return fmt.Errorf("send: %w", err)
	}
	if in.Key == "delivery" {
		return settingsUsage(in.Err)
	}
	name, ok := sendKeys[in.Key]
	if !ok {
		name = in.Key
	}
	return usageErrorf("%s: %s", name, strings.TrimPrefix(in.Err.Error(), "lifecycle: "))
}

func renderSummary(ios *term.IO, s *report.Summary, asJSON bool) error {
	if asJSON {
		return report.SummaryJSON(ios.Out, s)
	}
	return report.SummaryText(ios.Out, s, ios.Layout())
}

// progress redraws one line every second on a terminal, cut to its width
// so that a redraw never leaves a wrapped line behind, and prints a plain
// line every 10 s otherwise.
func progress(ios *term.IO) (func(sim.Snapshot), time.Duration) {
	return func(p sim.Snapshot) {
		if ios.ErrTTY {
			fmt.Fprintf(ios.Err, "\r\x1b[K%s", report.ProgressFit(p, ios.ErrWidth))
			return
		}
		fmt.Fprintln(ios.Err, report.ProgressLine(p))
	}, map[bool]time.Duration{true: time.Second, false: 10 * time.Second}[ios.ErrTTY]
}

// scenario translates the flags into the run description that a
// scenario file decodes to: send and run hand the same value to the one
// orchestrator (runner.Run). Problems are usage errors naming the flag.
func (o *sendOptions) scenario() (*scenario.Scenario, error) {
	hdr, _, err := o.target()
	if err != nil {
		return nil, err
	}
	if _, err := o.Auth.auth(""); err != nil {
		return nil, err
	}
	if err := o.checkLifecycleFlags(); err != nil {
		return nil, err
	}
	api, err := o.API.scenario()
	if err != nil {
		return nil, err
	}
	s := &scenario.Scenario{Name: "send", Auth: o.Auth.last, Phases: o.phases(), Delivery: o.delivery(hdr), API: api,
		Target: &scenario.Target{URL: o.URL, TLS: o.TLS.TLS, StateURL: o.StateURL, HTTP2: o.HTTP2, RestartCmd: o.RestartCmd}}
	if o.RestartCmd != "" {
		s.Target.Restarts = o.Restarts
		if !o.duplicatesSet {
			s.Delivery.Duplicates = RestartDuplicates
		}
	}
	if _, err := sim.NewConfig(s.Phases, s.Delivery, o.Seed); err != nil {
		return nil, settingsUsage(err)
	}
	if s.Events, err = o.events(o.Auth.last.IEnv); err != nil {
		return nil, err
	}
	s.Report.Results = o.Results
	return s, nil
}

// phases is the one phase the flags describe.
func (o *sendOptions) phases() []sim.Phase {
	return []sim.Phase{{Rate: o.Rate, Arrival: sim.Arrival(o.Arrival), Count: o.Count, Duration: o.Duration}}
}

// delivery is what the flags say about delivery, every value as given
// (--retry-jitter 0 is none).
// Without --drain the drain follows the retry flags (sim.DefaultDrainFor).
func (o *sendOptions) delivery(hdr http.Header) sim.Delivery {
	d := sim.Delivery{Timeout: o.Timeout, MaxInFlight: o.MaxInFlight, Duplicates: o.Duplicates,
		DuplicateDelay: o.DuplicateDelay, Drain: o.Drain, Headers: hdr, Coalesce: !o.NoCoalesce,
		Retry: sim.Retry{Interval: o.RetryInterval, Backoff: sim.Backoff(o.RetryBackoff), Jitter: o.RetryJitter, MaxAttempts: o.MaxAttempts}}
	if !o.drainSet {
		d.Drain = sim.DefaultDrainFor(d.Retry)
	}
	return d
}

// sendFlags names sim's config fields as send's flags.
var sendFlags = map[string]string{
	"Phases[0].Rate": "--rate", "Phases[0].Arrival": "--arrival", "Phases[0].Count": "--count", "Phases[0].Duration": "--duration",
	"Timeout": "--timeout", "Retry.Interval": "--retry-interval", "Retry.Backoff": "--retry-backoff", "Retry.Jitter": "--retry-jitter",
	"Retry.MaxAttempts": "--max-attempts", "MaxInFlight": "--max-in-flight", "Duplicates": "--duplicates",
	"DuplicateDelay": "--duplicate-delay", "Drain": "--drain",
}

// settingsUsage says what sim.NewConfig rejected in flags.
func settingsUsage(err error) error {
	var msgs []string
	for _, e := range sim.SettingErrors(err) {
		name := sendFlags[e.Field]
		if name == "" {
			name = e.Field
		}
		msgs = append(msgs, name+": "+e.Err.Error())
	}
	if len(msgs) == 0 {
		return usageErrorf("%w", err)
	}
	return usageErrorf("%s", strings.Join(msgs, "; "))
}

// events is the event source the flags describe: an --events replay
// (checked line by line before the first request), a --lifecycle, or the
// generator (iEnv: the bearer token's i_env claim, for the bodies that
// carry one).
func (o *sendOptions) events(iEnv *int64) (scenario.Events, error) {
	lo, hi, err := idRange(o.IDs)
	if err != nil {
		return scenario.Events{}, err
	}
	ev := scenario.Events{Gen: event.GenConfig{FirstEvent: o.FirstEvent, IDMin: lo, IDMax: hi, StringIDs: o.StringIDs, IEnv: iEnv,
		Payload: o.Payload.Payload}, AllowUnknown: o.AllowType}
	switch {
	case len(o.Vars) > 0 && (o.Lifecycle.On || o.Events != ""):
		return ev, usageErrorf("--var sets variables of generated events: --lifecycle follows its entities' ids and --events replays bodies as recorded")
	case o.Lifecycle.On:
		lc, err := o.Lifecycle.config()
		if err != nil {
			return ev, err
		}
		ev.Lifecycle = &lc
		return ev, nil
	case o.Events != "":
		if len(o.Types) > 0 || o.Mix != "" {
			return ev, usageErrorf("--events replays a file: it cannot be combined with --type or --mix")
		}
		if o.Payload.set {
			return ev, usageErrorf("--payload shapes generated events: an --events replay is sent as recorded")
		}
		ev.File, ev.Renumber = o.Events, o.Renumber
		return ev, nil
	case o.Renumber:
		return ev, usageErrorf("--renumber renumbers an --events replay: give --events")
	}
	for _, t := range o.Types {
		ev.Gen.Types = append(ev.Gen.Types, event.Weighted{Type: t, Weight: 1})
	}
	flag := "--type"
	if o.Mix != "" {
		if len(ev.Gen.Types) > 0 {
			return ev, usageErrorf("give --type or --mix, not both")
		}
		if ev.Gen.Types, err = event.ParseMix(o.Mix); err != nil {
			return ev, usageErrorf("--mix: %w", err)
		}
		flag = "--mix"
	}
	for _, t := range ev.Gen.Types {
		if err := checkType(flag, t.Type, o.AllowType); err != nil {
			return ev, err
		}
	}
	for _, v := range o.Vars {
		name, val, err := event.ParseVar(v)
		if err != nil {
			return ev, usageErrorf("--var %w", err)
		}
		if ev.Gen.Vars == nil {
			ev.Gen.Vars = map[string]any{}
		}
		ev.Gen.Vars[name] = val
	}
	return ev, nil
}

// warnVars names each --var that a type's catalog entry does not list,
// with the variables it does: the ESPF may never send it.
func warnVars(w io.Writer, gen event.GenConfig) {
	types := gen.Types
	if len(types) == 0 {
		types = []event.Weighted{{Type: event.DefaultType}}
	}
	names := slices.Sorted(maps.Keys(gen.Vars))
	for _, t := range types {
		ct, ok := event.Default().Lookup(t.Type)
		if !ok {
			continue // --allow-unknown-type has been warned about
		}
		known := map[string]bool{}
		var list []string
		for _, v := range ct.Variables {
			known[v.Name] = true
			list = append(list, v.Name)
		}
		if gen.Payload.OrDefault() == event.Enriched {
			known["i_env"], known["event_time"] = true, true
		}
		for _, n := range names {
			if !known[n] {
				have := "no variables"
				if len(list) > 0 {
					have = strings.Join(list, ", ")
				}
				fmt.Fprintf(w, "espfctl: warning: --var %s: %s's catalog entry lists %s; sending it anyway\n", term.Escape(n), t.Type, have)
			}
		}
	}
}

// checkType refuses an event type the ESPF catalog does not have, with the
// closest names, unless --allow-unknown-type.
func checkType(flag, name string, allowUnknown bool) error {
	if g, a, ok := strings.Cut(name, "/"); !ok || g == "" || a == "" {
		return usageErrorf("%s %q: want Group/Action, e.g. %s", flag, name, event.DefaultType)
	}
	if _, ok := event.Default().Lookup(name); ok || allowUnknown {
		return nil
	}
	hint := ""
	if s := event.Default().DidYouMean(name); len(s) > 0 {
		hint = fmt.Sprintf("; did you mean %s?", quoteAll(s, " or "))
	}
	return usageErrorf("%s %q: unknown event type (not in the ESPF catalog; --allow-unknown-type sends it anyway)%s", flag, name, hint)
}

func quoteAll(s []string, sep string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, sep)
}

func idRange(s string) (int64, int64, error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	hi, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	if !ok || err1 != nil || err2 != nil || lo < 0 || hi < lo {
		return 0, 0, usageErrorf("--ids %q: want MIN-MAX, e.g. 1000000-1999999", s)
	}
	return lo, hi, nil
}

// headerFlags is -H/--header, shared by every command that sends events.
