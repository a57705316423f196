// Package runner runs a scenario: it starts the built-in receiver when the
// scenario has no target, sends the phases with internal/sim, and evaluates
// the expectations. It never prints; the caller renders the Result.
package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/journal"
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
	events, closeEvents, err := source(s, cfg.Seed)
	if err != nil {
		return nil, err
	}
	defer closeEvents()
	cfg.Events = events

	start := time.Now()
	sd, err := startSides(ctx, s)
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
	sinks := sim.Sinks{metrics, series, sim.RecordFunc(sd.onRecord)}
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
	cfg.Sink = sinks

	series.Start = time.Now() // the schedule starts now: bucket edges line up with the phases
	stats, runErr := sim.Run(ctx, cfg)
	elapsed := time.Since(start)
	if err := results.close(); err != nil && runErr == nil {
		runErr = err
	}
	if stats == nil {
		return nil, runErr
	}
	in := report.Inputs{Run: stats}
	if ents != nil {
		r := ents.Reordered()
		in.Reordered = &r
	}
	if stateURL != "" && ctx.Err() == nil {
		fs, err := sim.StateCheck{URL: stateURL, Auth: cfg.Auth, Headers: cfg.Headers, TLS: cfg.TLS}.Run(ctx, ents.Expectations())
		if err != nil && runErr == nil {
			runErr = fmt.Errorf("read the final state back: %w", err)
		}
		in.FinalState = fs
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
	res.Outcomes = scenario.Evaluate(s.Expect, res.Measured)
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
		cfg.URL = s.Target.URL
		if cfg.TLS, err = s.Target.TLS.Config(); err != nil {
			return sim.Config{}, &InputError{"target.tls", err}
		}
	}
	return cfg, nil
}

// sides are what runs beside the sender: the built-in receiver (when the
// scenario has no target) and the ESPF API mock (when it has an api).
type sides struct {
	url    string // the built-in receiver's, or "" with a target
	apiURL string
	recv   *builtin
	api    *apiMock
	rep    *reporter

	// Who was delivered, as the sender saw it, to check against the
	// built-in receiver's journal. Only the sink goroutine writes it.
	delivered idSet
}

func startSides(ctx context.Context, s *scenario.Scenario) (*sides, error) {
	sd := &sides{}
	if s.API != nil {
		api, err := startAPI(s.API)
		if err != nil {
			return nil, err
		}
		sd.api, sd.apiURL = api, api.url
		if s.Target == nil && s.Receiver.Report != nil {
			sd.rep = &reporter{cfg: *s.Receiver.Report, url: api.url, token: s.API.Token, login: s.API.Login, password: s.API.Password,
				client: api.client()}
		}
	}
	if s.Target == nil {
		recv, err := startBuiltin(ctx, s, sd.rep)
		if err != nil {
			sd.stop()
			return nil, err
		}
		sd.recv, sd.url = recv, recv.url
	}
	return sd, nil
}

// onRecord follows every delivered event (the sink's goroutine).
func (sd *sides) onRecord(r *sim.Record) {
	if r.Outcome != espf.Delivered || r.Duplicate {
		return
	}
	if sd.recv != nil {
		sd.delivered.add(r.IEvent)
	}
	if sd.api != nil {
		sd.api.delivered(r.Entity, r.Answered)
	}
}

// finished is what the sides saw, once the sender is done.
type finished struct {
	receiver    *verify.Stats
	accounts    []espfapi.AccountStatus
	apiRejected int64
	apiCalls    []espfapi.MethodCalls
	apiEntities int
	measured    scenario.Measured // processed_twice, unjournaled, statuses
	rejections  []report.Rejection
}

// finish stops the built-in receiver and compares its journal with what the
// sender saw delivered, then waits for the API mock's statuses.
func (sd *sides) finish(ctx context.Context) (finished, error) {
	fin := finished{measured: scenario.Measured{}}
	var err error
	if sd.recv != nil {
		var st verify.Stats
		var twice, missing int64
		st, twice, missing, err = sd.recv.finish(ctx, &sd.delivered)
		fin.receiver = &st
		fin.rejections = sd.recv.rejections()
		fin.measured["processed_twice"] = float64(twice)
		fin.measured["unjournaled"] = float64(missing)
	}
	if sd.api != nil {
		if sd.rep != nil {
			sd.rep.wg.Wait()
		}
		var share float64
		var ok bool
		fin.accounts, fin.apiRejected, share, ok = sd.api.finish(ctx)
		fin.apiCalls, fin.apiEntities = sd.api.mock.Calls(), sd.api.mock.Entities()
		if ok {
			fin.measured["statuses"] = share
		}
	}
	return fin, err
}

func (sd *sides) stop() {
	if sd.recv != nil {
		sd.recv.stop()
	}
	if sd.api != nil {
		sd.api.stop()
	}
}

// resultsFiles writes every attempt to the scenario's report.results and
// the caller's writer.
type resultsFiles struct {
	*sim.RecordWriter
	file *os.File
}

func openResults(path string, extra io.Writer) (*resultsFiles, error) {
	var ws []io.Writer
	r := &resultsFiles{}
	if extra != nil {
		ws = append(ws, extra)
	}
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("report.results: %w", err)
		}
		r.file = f
		ws = append(ws, f)
	}
	if len(ws) == 0 {
		return nil, nil
	}
	r.RecordWriter = sim.NewRecordWriter(io.MultiWriter(ws...))
	return r, nil
}

// close flushes and closes; nil-safe.
func (r *resultsFiles) close() error {
	if r == nil {
		return nil
	}
	err := r.Flush()
	if r.file != nil {
		err = errors.Join(err, r.file.Close())
	}
	if err != nil {
		return fmt.Errorf("report.results: %w", err)
	}
	return nil
}

// measure maps the sender's summary onto the expectation metrics.
func measure(s *report.Summary) scenario.Measured {
	m := scenario.Measured{}
	o := s.Outcomes
	if ev := float64(s.Events - o.Superseded); ev > 0 { // a superseded event is not PortaBilling's to deliver
		m["delivered"] = float64(o.DeliveredFirstTry+o.DeliveredAfterRetry) / ev
		m["delivered_first_try"] = float64(o.DeliveredFirstTry) / ev
	}
	m["dropped"] = float64(o.DroppedBy4xx)
	m["gave_up"] = float64(o.GaveUp)
	m["pending"] = float64(o.StillPending)
	if s.Duplicates.Sent > 0 {
		m["duplicates_ok"] = float64(s.Duplicates.ByAnswer["200"]) / float64(s.Duplicates.Sent)
	}
	if s.Attempts > 0 {
		m["error_rate"] = float64(s.Attempts-s.ByAnswer["200"]) / float64(s.Attempts)
		l := s.Latency
		for k, v := range map[string]float64{"p50": l.P50MS, "p90": l.P90MS, "p99": l.P99MS, "p99.9": l.P999MS, "max": l.MaxMS} {
			m[k] = v / 1000
		}
	}
	if t := s.TimeToDelivery; t.Count > 0 {
		for k, v := range map[string]float64{"time_to_delivery_p50": t.P50MS, "time_to_delivery_p90": t.P90MS,
			"time_to_delivery_p99": t.P99MS, "time_to_delivery_max": t.MaxMS} {
			m[k] = v / 1000
		}
	}
	m["superseded"] = float64(o.Superseded)
	if s.Reordered != nil {
		m["reordered"] = float64(s.Reordered.Events)
	}
	if share, ok := s.FinalState.Share(); ok {
		m["final_state"] = share
	}
	if s.TargetRate > 0 {
		d := s.AchievedRate - s.TargetRate
		if d < 0 {
			d = -d
		}
		m["rate_error"] = d / s.TargetRate
	}
	return m
}

// source builds the event source the scenario describes, and what closes it.
func source(s *scenario.Scenario, seed int64) (event.Source, func(), error) {
	ev := s.Events
	none := func() {}
	switch {
	case ev.File != "":
		f, err := os.Open(ev.File)
		if err != nil {
			return nil, none, &InputError{"events.file", err}
		}
		// the replay reads lazily, so the file stays open for the run
		return event.NewReplay(f, ev.File, ev.Gen.FirstEvent), func() { f.Close() }, nil
	case len(ev.List) > 0:
		var buf bytes.Buffer
		for _, e := range ev.List {
			vars := e.Variables
			if vars == nil {
				vars = map[string]any{}
			}
			if err := json.NewEncoder(&buf).Encode(map[string]any{"event_type": e.Type, "variables": vars}); err != nil {
				return nil, none, fmt.Errorf("events.list: %w", err)
			}
		}
		return event.NewReplay(&buf, s.File+": events.list", ev.Gen.FirstEvent), none, nil
	}
	if ev.Lifecycle != nil {
		lc := *ev.Lifecycle
		lc.Seed, lc.FirstEvent, lc.IDMin, lc.IDMax, lc.StringIDs = seed, ev.Gen.FirstEvent, ev.Gen.IDMin, ev.Gen.IDMax, ev.Gen.StringIDs
		l, err := event.NewLifecycle(lc)
		if err != nil {
			return nil, none, &InputError{"events.lifecycle", err}
		}
		return l, none, nil
	}
	gc := ev.Gen
	gc.Seed = seed
	g, err := event.NewGenerator(gc)
	return g, none, err
}

// builtin is the in-process reference receiver on 127.0.0.1. Without a
// receiver.journal its journal is a scratch file in a temporary directory,
// removed when the run ends: an in-memory journal would grow with every
// event (the database holds them all, for duplicate detection), a file
// keeps the run's memory flat.
type builtin struct {
	rc      *verify.Receiver
	journal *journal.Journal
	scratch string // the scratch journal's directory, or ""
	url     string
	base    string // http://127.0.0.1:port, for GET /state/…
	cancel  context.CancelFunc
	done    chan error

	mu      sync.Mutex
	first   idSet // i_events answered 200 as their first delivery
	twice   int64 // first deliveries of an i_event already in first
	reasons map[rejectKey]int64
}

// rejectKey is one kind of answer other than 200.
type rejectKey struct {
	status int
	reason string
}

// maxReasons bounds the distinct rejection reasons kept (reasons that name
// an i_event or a value are many); the rest count under "other reasons".
const maxReasons = 100

// reject counts an answer other than 200 by its reason.
func (b *builtin) reject(d verify.Delivery) {
	reason := d.Reason
	switch {
	case reason == "" && d.Fault != "":
		reason = "fault: " + d.Fault
	case reason == "":
		reason = http.StatusText(d.Status)
	}
	if len(reason) > 200 {
		reason = reason[:200] + "…"
	}
	k := rejectKey{d.Status, reason}
	if _, ok := b.reasons[k]; !ok && len(b.reasons) >= maxReasons {
		k.reason = "other reasons"
	}
	b.reasons[k]++
}

// rejections are the counted reasons, most frequent first.
func (b *builtin) rejections() []report.Rejection {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []report.Rejection
	for k, n := range b.reasons {
		out = append(out, report.Rejection{Status: k.status, Reason: k.reason, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, c := out[i], out[j]
		if a.Count != c.Count {
			return a.Count > c.Count
		}
		if a.Status != c.Status {
			return a.Status < c.Status
		}
		return a.Reason < c.Reason
	})
	return out
}

func startBuiltin(ctx context.Context, s *scenario.Scenario, rep *reporter) (*builtin, error) {
	r := s.Receiver
	var auth sign.Auth
	if !r.NoAuth {
		cfg := s.Auth
		if r.Auth != nil {
			cfg = *r.Auth
		}
		a, err := sign.New(cfg)
		if err != nil {
			return nil, &InputError{"receiver.auth", err}
		}
		auth = a
	}
	b := &builtin{reasons: map[rejectKey]int64{}, done: make(chan error, 1)}
	j, err := b.openJournal(r.Journal)
	if err != nil {
		return nil, err
	}
	b.journal = j
	b.rc, err = verify.NewReceiver(verify.Config{Auth: auth, Path: r.Path, Strict: r.Strict, Faults: r.Faults, Journal: j,
		OnDelivery: func(d verify.Delivery) {
			b.mu.Lock()
			switch {
			case d.Status == http.StatusOK && !d.Duplicate && d.IEvent != nil:
				if !b.first.add(*d.IEvent) {
					b.twice++
				}
			case d.Status != http.StatusOK:
				b.reject(d)
			}
			b.mu.Unlock()
			if rep != nil {
				rep.onDelivery(d)
			}
		}})
	if err != nil {
		b.closeJournal()
		return nil, &InputError{"receiver", err}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.closeJournal()
		return nil, fmt.Errorf("start the built-in receiver: %w", err)
	}
	path := r.Path
	if path == "" {
		path = "/"
	}
	b.base = "http://" + ln.Addr().String()
	b.url = b.base + path
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.cancel = cancel
	go func() { b.done <- verify.Serve(sctx, ln, b.rc, time.Second) }()
	return b, nil
}

// openJournal opens receiver.journal, or a scratch journal in a new
// temporary directory when the scenario names none.
func (b *builtin) openJournal(path string) (*journal.Journal, error) {
	if path != "" {
		j, err := journal.Open(journal.Config{Path: path})
		if err != nil {
			return nil, &InputError{"receiver.journal", err}
		}
		return j, nil
	}
	dir, err := os.MkdirTemp("", "espfctl-run-")
	if err != nil {
		return nil, fmt.Errorf("start the built-in receiver: a temporary journal: %w", err)
	}
	j, err := journal.Open(journal.Config{Path: filepath.Join(dir, "journal.db"), Scratch: true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start the built-in receiver: a temporary journal: %w", err)
	}
	b.scratch = dir
	return j, nil
}

// closeJournal closes the journal and removes a scratch journal's files.
func (b *builtin) closeJournal() {
	b.journal.Close()
	if b.scratch != "" {
		os.RemoveAll(b.scratch)
		b.scratch = ""
	}
}

// finish stops the receiver and compares it with what the sender saw
// delivered: events processed more than once, and events answered 200 that
// the journal does not hold. The journal is read a page of i_events at a
// time, so the comparison costs no memory per event.
func (b *builtin) finish(ctx context.Context, delivered *idSet) (verify.Stats, int64, int64, error) {
	b.shutdown()
	st := b.rc.Stats()
	b.mu.Lock()
	twice := b.twice
	b.mu.Unlock()
	var held int64 // delivered i_events the journal holds (each once: i_event is its key)
	err := b.journal.EachIEvent(context.WithoutCancel(ctx), func(id int64) error {
		if delivered.has(id) {
			held++
		}
		return nil
	})
	if err != nil {
		return st, twice, 0, fmt.Errorf("read the built-in receiver's journal: %w", err)
	}
	return st, twice, delivered.len() - held, nil
}

// shutdown stops serving: in-flight requests get a second to finish (a
// request the faults hang is cut off), and nothing is answered after it.
func (b *builtin) shutdown() {
	if b.cancel != nil {
		b.cancel()
		b.cancel = nil
		<-b.done // Serve's error after shutdown was requested tells nothing about the run
	}
}

// stop shuts down and closes the journal.
func (b *builtin) stop() {
	b.shutdown()
	b.rc.Close()
	b.closeJournal()
}
