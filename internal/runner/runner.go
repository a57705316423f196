// Package runner is the one orchestrator of a run, for send and run alike:
// both commands translate what the user wrote (flags, a scenario file) into
// a scenario.Scenario, and Run assembles the rest: the event source, the
// built-in receiver when there is no target, the PortaBilling API mock and
// its wait, the entity tracking and the final-state read-back, the results
// file; it sends with internal/sim and evaluates the expectations. It never
// prints but to the Options.Log it is given; the caller renders the
// report.Run.
package runner

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/verify"
)

// Options are the run's knobs that are not in the scenario file.
type Options struct {
	Progress      func(sim.Snapshot) // live state; nil = none
	ProgressEvery time.Duration      // 0 = every second
	Results       io.Writer          // every attempt as JSONL, besides the scenario's report.results
	Seed          int64              // 0 = 1
	Stdin         io.Reader          // what events.file "-" (StdinFile) reads
	Log           io.Writer          // status lines (where the API mock listens, the read-back); nil = none
}

// InputError is a problem with what the scenario names (a file that cannot
// be read, a certificate that does not load, credentials sign rejects) that
// loading could not see: the scenario is unusable as written.
type InputError struct {
	Key string // the scenario key, e.g. "events.file"
	Err error
}

func (e *InputError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Run runs s. It returns an error only when the run could not happen (a
// port, a file, a bad TLS setting) or was interrupted; failed expectations
// are in the report.
func Run(ctx context.Context, s *scenario.Scenario, opts Options) (*report.Run, error) {
	cfg, err := EngineConfig(s, opts.Seed)
	if err != nil {
		return nil, err
	}
	events, closeEvents, err := source(s, cfg.Seed, opts.Stdin)
	if err != nil {
		return nil, err
	}
	defer closeEvents()
	cfg.Events = events

	start := time.Now()
	sd, err := startSides(ctx, s, opts.Log)
	if err != nil {
		return nil, err
	}
	defer sd.stop()
	if cfg.URL == "" {
		cfg.URL = sd.url
	}
	cfg.ProgressEvery = opts.ProgressEvery

	// Every attempt goes to the summary, the time series, the sides'
	// trackers and the results files.
	metrics, series := report.NewMetrics(), report.NewSeries(start)
	reach := &reachability{log: opts.Log, url: espf.RedactURL(cfg.URL)}
	sinks := sim.Sinks{metrics, series, sim.RecordFunc(sd.onRecord), reach}
	var mockEmitted func(event.Item)
	if sd.api != nil {
		mockEmitted = sd.api.mock.Emitted // PortaBilling changes the entity, then queues the event
	}
	// Entity histories are followed when the events have them; the final
	// state is read back from target.state_url, or from the built-in
	// receiver, which keeps every entity with design (b).
	stateURL := ""
	if s.Target != nil {
		stateURL = s.Target.StateURL
	} else if sd.recv != nil {
		stateURL = sd.recv.base + verify.StatePath + "{group}/{id}"
	}
	var ents *sim.Entities
	if s.Events.Lifecycle != nil || s.Events.File != "" || len(s.Events.List) > 0 || (s.Target != nil && stateURL != "") {
		ents = sim.NewEntities(stateURL != "")
		sinks = append(sinks, ents)
		cfg.OnEmit = sim.Emits(mockEmitted, ents.Emitted)
	} else {
		stateURL = ""
		cfg.OnEmit = mockEmitted
	}
	var shape shapeTally
	cfg.OnEmit = sim.Emits(cfg.OnEmit, shape.emitted)
	if opts.Progress != nil {
		sinks = append(sinks, sim.ProgressFunc(opts.Progress))
	}
	results, err := openResults(s.Report.Results, opts.Results)
	if err != nil {
		return nil, err
	}
	if results != nil {
		sinks = append(sinks, results)
	}
	runCtx, cancelRun := context.WithCancelCause(ctx)
	defer cancelRun(nil)
	rs := startRestarts(runCtx, s, &cfg, cancelRun)
	if rs != nil {
		sinks = append(sinks, rs)
	}
	cfg.Sink = sinks

	series.Start = time.Now() // the schedule starts now: bucket edges line up with the phases
	stats, runErr := sim.Run(runCtx, cfg)
	elapsed := time.Since(start)
	var restarted []entity.Restart
	if rs != nil {
		var err error
		if restarted, err = rs.sched.Wait(start); err != nil {
			return nil, err // a restart command failed: nothing after it can be judged
		}
	}
	if err := results.close(); err != nil && runErr == nil {
		runErr = err
	}
	if stats == nil {
		return nil, runErr
	}
	in := report.Inputs{Run: stats}
	if s.Events.File == "" && len(s.Events.List) == 0 {
		in.Payload = string(s.Events.Gen.Payload.OrDefault())
	}
	in.Internal, in.Bursts = shape.result()
	in.Credentials, in.CredentialFlags = sign.Describe(s.Auth), sign.Flags(s.Auth.Scheme)
	if ents != nil {
		r := ents.Reordered()
		in.Reordered = &r
	}
	if stateURL != "" && ctx.Err() == nil {
		if opts.Log != nil && s.Target != nil {
			fmt.Fprintf(opts.Log, "espfctl: reading %d entities back from the state URL\n", ents.Len())
		}
		sc := sim.StateCheck{URL: stateURL, Auth: cfg.Auth, Headers: cfg.Headers, TLS: cfg.TLS}
		if rs != nil {
			sc.Each = rs.probe
		}
		fs, err := sc.Run(ctx, ents.Expectations())
		if err != nil && runErr == nil {
			runErr = fmt.Errorf("read the final state back: %w", err)
		}
		in.FinalState = fs
		if rs != nil {
			in.Durability = rs.judge(restarted, start)
		}
	}
	fin, err := sd.finish(ctx)
	if err != nil && runErr == nil {
		runErr = err
	}
	var names []string
	for _, p := range s.Phases {
		names = append(names, p.Name)
	}
	in.Accounts, in.APIRejected, in.PhaseNames, in.APICalls, in.APIEntities = fin.accounts, fin.apiRejected, names, fin.apiCalls, fin.apiEntities
	sum := report.NewSummary(metrics, in)
	res := &report.Run{Scenario: s, Start: start, Elapsed: elapsed, URL: espf.RedactURL(cfg.URL), APIURL: sd.apiURL, Builtin: sd.recv != nil,
		Summary: sum, Receiver: fin.receiver, Series: series, Measured: measure(sum), Rejections: fin.rejections}
	for k, v := range fin.measured {
		res.Measured[k] = v
	}
	if share, ok := in.Durability.Share(); ok {
		res.Measured["durability"] = share
	}
	res.Outcomes = scenario.Evaluate(s.Expect, res.Measured)
	if err := reach.verdict(); err != nil && runErr == nil && ctx.Err() == nil {
		runErr = err
	}
	return res, runErr
}

// EngineConfig is the engine's config for s: its phases and delivery
// through sim.NewConfig (the function send's flags go through too), its
// credentials and target. The event source, the built-in receiver's URL and
// the sink are the run's to add. seed 0 is 1.
func EngineConfig(s *scenario.Scenario, seed int64) (sim.Config, error) {
	if seed == 0 {
		seed = 1
	}
	cfg, err := sim.NewConfig(s.Phases, s.Delivery, seed)
	if err != nil { // a loaded scenario was checked with the same function
		return sim.Config{}, &InputError{"delivery", err}
	}
	if cfg.Auth, err = sign.New(s.Auth); err != nil {
		return sim.Config{}, &InputError{"auth", err}
	}
	if s.Target != nil {
		cfg.URL, cfg.HTTP2 = s.Target.URL, s.Target.HTTP2
		if cfg.TLS, err = s.Target.TLS.Config(); err != nil {
			return sim.Config{}, &InputError{"target.tls", err}
		}
	}
	return cfg, nil
}
