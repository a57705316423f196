package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/report"
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

	resultsFile *os.File // opened by config
	drainSet    bool     // --drain was given
	JSON        bool

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
entity exists there from its event's emission.

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
	cfg, closeFn, err := opts.config()
	if err != nil {
		return err
	}
	defer closeFn()
	opts.warnInsecure(ios.Err)
	opts.Auth.warn(ios.Err, true)
	metrics := report.NewMetrics()
	sinks := sim.Sinks{metrics}
	if !opts.NoProgress {
		show, every := progress(ios)
		sinks = append(sinks, sim.ProgressFunc(show))
		cfg.ProgressEvery = every
	}
	var results *sim.RecordWriter
	if opts.resultsFile != nil {
		results = sim.NewRecordWriter(opts.resultsFile)
		sinks = append(sinks, results)
	}
	api, err := opts.startAPI()
	if err != nil {
		return err
	}
	var mockEmitted func(event.Item)
	if api != nil {
		defer func() { _ = api.srv.Close(context.Background()) }() // when the run could not finish
		sinks = append(sinks, api.sink)
		mockEmitted = api.mock.Emitted
	}
	// Entity histories are followed when the events have them: a
	// lifecycle, a replay, or a final-state check.
	var ents *sim.Entities
	if opts.Lifecycle.On || opts.Events != "" || opts.StateURL != "" {
		ents = sim.NewEntities(opts.StateURL != "")
		sinks = append(sinks, ents)
		cfg.OnEmit = sim.Emits(mockEmitted, ents.Emitted)
	} else {
		cfg.OnEmit = mockEmitted
	}
	cfg.Sink = sinks
	stats, runErr := sim.Run(ctx, cfg)
	if results != nil {
		if err := results.Flush(); err != nil && runErr == nil {
			runErr = fmt.Errorf("--results: %w", err)
		}
	}
	if stats == nil {
		return fmt.Errorf("send: %w", runErr)
	}
	in := report.Inputs{Run: stats}
	if ents != nil {
		r := ents.Reordered()
		in.Reordered = &r
	}
	if opts.StateURL != "" && ctx.Err() == nil {
		fs, err := opts.checkState(ctx, cfg, ents)
		if err != nil && runErr == nil {
			runErr = err
		}
		in.FinalState = fs
	}
	if api != nil {
		in.Accounts, in.APIRejected, in.APICalls, in.APIEntities = api.finish(ctx, opts.API.Wait, func(err error) {
			fmt.Fprintf(ios.Err, "espfctl: API mock: %s\n", term.Escape(err.Error()))
		})
	}
	s := report.NewSummary(metrics, in)
	if ios.ErrTTY && !opts.NoProgress {
		fmt.Fprintln(ios.Err)
	}
	if err := renderSummary(ios, s, opts.JSON); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if s.Outcomes.DroppedBy4xx > 0 {
		fmt.Fprintf(ios.Err, "espfctl: warning: %d events answered 4xx were dropped: the ESPF would never provision them\n", s.Outcomes.DroppedBy4xx)
	}
	if s.CapBound > 0 {
		fmt.Fprintf(ios.Err, "espfctl: warning: --max-in-flight %d bound %d times: sends waited for a free slot\n", s.MaxInFlight, s.CapBound)
	}
	switch {
	case runErr != nil && ctx.Err() != nil:
		return errors.New("send interrupted; the report covers what was sent until then")
	case runErr != nil:
		return fmt.Errorf("send: %w", runErr)
	case !s.AllDelivered():
		return &failedError{errors.New(s.NotDeliveredText())}
	case !s.FinalState.Passed():
		return &failedError{finalStateError(s.FinalState)}
	}
	return nil
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

// config turns the flags into a sim.Config through sim.NewConfig, the
// function a scenario goes through too; problems are usage errors.
func (o *sendOptions) config() (sim.Config, func(), error) {
	nop := func() {}
	hdr, tlsCfg, err := o.target()
	if err != nil {
		return sim.Config{}, nop, err
	}
	au, err := o.Auth.auth("")
	if err != nil {
		return sim.Config{}, nop, err
	}
	if err := o.checkLifecycleFlags(); err != nil {
		return sim.Config{}, nop, err
	}
	if _, _, err := o.API.config(); err != nil {
		return sim.Config{}, nop, err
	}
	cfg, err := sim.NewConfig(o.phases(), o.delivery(hdr), o.Seed)
	if err != nil {
		return sim.Config{}, nop, settingsUsage(err)
	}
	src, closeFn, err := o.source(o.Auth.last.IEnv)
	if err != nil {
		return sim.Config{}, nop, err
	}
	cfg.URL, cfg.Auth, cfg.TLS, cfg.HTTP2, cfg.Events = o.URL, au, tlsCfg, o.HTTP2, src
	if o.Results != "" {
		f, err := os.Create(o.Results)
		if err != nil {
			closeFn()
			return cfg, nop, fmt.Errorf("--results: %w", err)
		}
		o.resultsFile = f
		prev := closeFn
		closeFn = func() { _ = f.Close(); prev() }
	}
	return cfg, closeFn, nil
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

// source is the event source: a checked --events replay, or the generator
// (iEnv: the bearer token's i_env claim, for the bodies that carry one).
func (o *sendOptions) source(iEnv *int64) (event.Source, func(), error) {
	if o.Lifecycle.On {
		return o.lifecycle()
	}
	if o.Events != "" {
		if len(o.Types) > 0 || o.Mix != "" {
			return nil, nil, usageErrorf("--events replays a file: it cannot be combined with --type or --mix")
		}
		return o.replay()
	}
	if o.Renumber {
		return nil, nil, usageErrorf("--renumber renumbers an --events replay: give --events")
	}
	var types []event.Weighted
	for _, t := range o.Types {
		types = append(types, event.Weighted{Type: t, Weight: 1})
	}
	flag := "--type"
	if o.Mix != "" {
		if len(types) > 0 {
			return nil, nil, usageErrorf("give --type or --mix, not both")
		}
		var err error
		if types, err = event.ParseMix(o.Mix); err != nil {
			return nil, nil, usageErrorf("--mix: %w", err)
		}
		flag = "--mix"
	}
	for _, t := range types {
		if err := checkType(flag, t.Type, o.AllowType); err != nil {
			return nil, nil, err
		}
	}
	lo, hi, err := idRange(o.IDs)
	if err != nil {
		return nil, nil, err
	}
	g, err := event.NewGenerator(event.GenConfig{Types: types, FirstEvent: o.FirstEvent, IDMin: lo, IDMax: hi,
		StringIDs: o.StringIDs, Seed: o.Seed, IEnv: iEnv})
	if err != nil {
		return nil, nil, usageErrorf("%w", err)
	}
	return g, func() {}, nil
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

// replay opens --events, checks every line before the first request (a
// bad line is a usage error naming file:line), then replays it. Standard
// input (-), and a pipe or a device given as a file, is read to its end
// into a temporary file first, removed when the run ends.
func (o *sendOptions) replay() (event.Source, func(), error) {
	name := o.Events
	var src io.Reader
	var f *os.File
	var closeFn func()
	if name == "-" {
		name, src = "stdin", o.IO.In
	} else {
		in, err := os.Open(name)
		if err != nil {
			return nil, nil, usageErrorf("--events: %w", err)
		}
		if st, err := in.Stat(); err == nil && st.Mode().IsRegular() {
			f, closeFn = in, func() { _ = in.Close() }
		} else {
			src = in
			defer in.Close()
		}
	}
	if f == nil {
		tmp, err := os.CreateTemp("", "espfctl-events-*.jsonl")
		if err != nil {
			return nil, nil, fmt.Errorf("--events %s: buffer it: %w", name, err)
		}
		f, closeFn = tmp, func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }
		if _, err := io.Copy(tmp, src); err != nil {
			closeFn()
			return nil, nil, fmt.Errorf("--events %s: read: %w", name, err)
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			closeFn()
			return nil, nil, fmt.Errorf("--events %s: %w", name, err)
		}
	}
	n, err := event.CheckReplay(f, name, o.FirstEvent, o.Renumber)
	if err != nil {
		closeFn()
		return nil, nil, usageErrorf("--events: %w", err)
	}
	if n == 0 {
		closeFn()
		return nil, nil, usageErrorf("--events %s holds no events: nothing to send", name)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		closeFn()
		return nil, nil, fmt.Errorf("--events %s: %w", name, err)
	}
	return event.NewReplay(f, name, o.FirstEvent).Renumber(o.Renumber), closeFn, nil
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
