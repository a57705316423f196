package sim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
)

// Defaults for Config's zero fields.
const (
	DefaultTimeout = espf.Timeout // the ESPF's documented default
	// DefaultMaxInFlight bounds memory (a worker and a connection each;
	// run's built-in receiver holds the other end of each in the same
	// process): 50 s of a hung Application at the ESPF's 10/s, 500/s
	// against one that takes a second to answer. At 1,000, run peaked at
	// 124–134 MB with the cap bound; at 500 it stays under 100 MB
	// (BENCHMARKS.md, issue 25). It also stays under serve's default
	// --max-conns (512), so send never holds more connections than a
	// default serve has slots.
	DefaultMaxInFlight = 500
)

// MaxBody is how much of an answer's body the sender reads; the rest is
// discarded with the connection.
const MaxBody = 1 << 20

// Config describes a run. What a user chose (send's flags, a scenario)
// comes from NewConfig, checked; for a program, the zero value plus URL and
// Events is usable too: one open-ended phase at DefaultRate, the ESPF's
// 300 s timeout, Retry's zero fields as DefaultRetry's but without jitter.
type Config struct {
	URL            string
	Auth           sign.Auth     // nil = no credentials (Date is still set)
	Client         *http.Client  // nil = built from TLS; redirects are never followed either way
	TLS            *tls.Config   // for the built client
	HTTP2          bool          // let the built client negotiate HTTP/2 over TLS; the ESPF speaks HTTP/1.1
	Headers        http.Header   // extra headers on every request
	Phases         []Phase       // empty = one open-ended phase at DefaultRate
	Events         event.Source  // required
	Timeout        time.Duration // per attempt, until the answer's body has arrived; 0 = DefaultTimeout
	Retry          Retry
	MaxInFlight    int           // requests in flight at once; 0 = DefaultMaxInFlight
	Duplicates     float64       // fraction of delivered events re-sent later, 0..1
	DuplicateDelay time.Duration // wait before a duplicate; 0 = the retry interval
	Drain          time.Duration // bound on the wait for retries after the schedule; 0 = DefaultDrainFor(Retry)
	Seed           int64         // poisson gaps, jitter and the choice of duplicates
	Sink           Sink          // every attempt and the progress; nil = none
	ProgressEvery  time.Duration // 0 = 1s
	Coalesce       bool          // coalescing of the 11 types (Delivery.Coalesce)
	// OnEmit is called with every event at its emission, just before its
	// first attempt, from the scheduling goroutine: PortaBilling's side
	// (the API mock) changes the entity before the event can be delivered.
	OnEmit func(event.Item)
	// OnAttempt is called as every attempt starts, from its worker, with
	// the number of requests in flight, that one included (the restart
	// scheduler starts a due restart there).
	OnAttempt func(inFlight int64)
}

// Stats is what the engine alone knows about a run, beside its records:
// the in-flight cap and how the run ended.
type Stats struct {
	MaxInFlight  int
	CapBound     int64         // sends that waited for a free in-flight slot
	CapWait      time.Duration // their total wait
	DrainExpired bool          // the drain bound passed with events still pending
	Interrupted  bool          // the context ended the run
}

// Snapshot is the live state of a run, for progress views.
type Snapshot struct {
	Elapsed   time.Duration
	Sent      int64 // events sent at least once
	Attempts  int64
	InFlight  int64
	Delivered int64
	Resending int64 // events waiting to be re-sent
	Dropped   int64
	Rate      float64 // first sends per second since the last snapshot
	P99       time.Duration
	// SinceAnswer is the time since the last attempt ended (an answer or a
	// transport error), or since the start when none has; OldestInFlight
	// is the age of the oldest request still waiting for its answer (0
	// when none is). Together they show a hung Application.
	SinceAnswer    time.Duration
	OldestInFlight time.Duration
	// Unreachable is the last attempt's transport error ("refused: dial
	// tcp 127.0.0.1:8080: connect: connection refused") while no answer
	// has come since it; "" once one does.
	Unreachable string
	// Planned is how many events the schedule sends in all (Planned
	// below); 0 when it is open-ended. An events file may end sooner.
	Planned int64
}

// Planned is how many events phases send in all: a phase's count, or its
// rate over its duration (the smaller when it has both; the expected
// number for poisson arrivals); 0 when a phase has neither, so the total
// is not known.
func Planned(phases []Phase) int64 {
	var n int64
	for _, p := range phases {
		r := p.Rate
		if r.Freq == 0 {
			r = DefaultRate
		}
		var byTime int64 = -1
		if p.Duration > 0 && r.Per > 0 {
			byTime = int64(float64(r.Freq) * float64(p.Duration) / float64(r.Per))
		}
		switch {
		case p.Count > 0 && byTime >= 0:
			n += min(p.Count, byTime)
		case p.Count > 0:
			n += p.Count
		case byTime >= 0:
			n += byTime
		default:
			return 0
		}
	}
	return n
}

type engine struct {
	cfg       Config
	client    *http.Client
	jobs      chan job       // attempts waiting for a worker; unbuffered
	workers   atomic.Int64   // started so far, at most MaxInFlight
	pool      sync.WaitGroup // workers
	results   chan *Record
	work      sync.WaitGroup // events not finished yet
	inFlight  atomic.Int64
	resending atomic.Int64
	attempts  atomic.Int64
	capBound  atomic.Int64
	capWait   atomic.Int64
	start     time.Time
	answered  atomic.Int64           // UnixNano of the last attempt's end; 0 = none yet
	unreach   atomic.Pointer[string] // the last transport error, until an answer comes
	heads     sync.Pool              // *[]byte of espf.ReplyBodyLimit: the start of an answer's body

	slotsMu sync.Mutex
	slots   []*atomic.Int64 // per worker: UnixNano its request was sent, 0 = idle

	queue coalescing
}

// Run sends cfg.Events on the schedule of cfg.Phases, reacts to every answer
// as the ESPF does, hands every attempt to cfg.Sink, and returns what only
// the engine knows. It returns an error only when it could not run (bad
// config, unreadable events) or when ctx was cancelled (the stats are still
// returned then).
func Run(ctx context.Context, cfg Config) (*Stats, error) {
	if cfg.Events == nil {
		return nil, errors.New("sim: no event source")
	}
	if cfg.URL == "" && cfg.Client == nil {
		return nil, errors.New("sim: no url")
	}
	cfg = withDefaults(cfg)
	e := &engine{cfg: cfg, client: espf.NewClient(cfg.Client, cfg.TLS, cfg.MaxInFlight, espf.HTTP2(cfg.HTTP2)),
		jobs: make(chan job), results: make(chan *Record, 4096), start: time.Now()}
	e.heads.New = func() any { b := make([]byte, espf.ReplyBodyLimit); return &b }

	collected := make(chan struct{})
	go func() { e.collect(); close(collected) }()

	// drainCtx ends the retries: cancelled when the drain bound passes after
	// the schedule, or at once on interrupt.
	drainCtx, stopDrain := context.WithCancel(ctx)
	defer stopDrain()
	schedErr := e.schedule(ctx, drainCtx)

	drained := make(chan struct{})
	go func() { e.work.Wait(); close(drained) }()
	expired := false
	timer := time.NewTimer(cfg.Drain)
	select {
	case <-drained:
	case <-ctx.Done():
	case <-timer.C:
		expired = true
	}
	timer.Stop()
	stopDrain()
	<-drained
	close(e.jobs) // nothing submits any more: the schedule is over and no event is left
	e.pool.Wait()
	close(e.results)
	<-collected

	st := &Stats{MaxInFlight: cfg.MaxInFlight, CapBound: e.capBound.Load(), CapWait: time.Duration(e.capWait.Load()),
		DrainExpired: expired, Interrupted: ctx.Err() != nil}
	switch {
	case schedErr != nil:
		return st, schedErr
	case ctx.Err() != nil:
		return st, ctx.Err()
	}
	return st, nil
}

func withDefaults(cfg Config) Config {
	if len(cfg.Phases) == 0 {
		cfg.Phases = []Phase{{Rate: DefaultRate}}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	cfg.Retry = cfg.Retry.withDefaults()
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.DuplicateDelay <= 0 {
		cfg.DuplicateDelay = cfg.Retry.Interval
	}
	if cfg.Drain <= 0 {
		cfg.Drain = DefaultDrainFor(cfg.Retry)
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = time.Second
	}
	return cfg
}

// schedule walks the phases and starts every event on time. It waits for
// a free in-flight slot when the cap binds, and counts it: the schedule's
// intended times do not move, so the wait shows up as latency.
func (e *engine) schedule(ctx, drainCtx context.Context) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for range min(e.cfg.MaxInFlight, 4) { // a warm pool: the first sends do not wait for a goroutine to start
		e.workers.Add(1)
		e.pool.Add(1)
		go e.worker(drainCtx, e.slot())
	}
	// Each phase starts where the previous one ended on the schedule, not
	// when its last event happened to go out: intended times stay exact
	// across phases, and a phase with a duration lasts all of it.
	start := time.Now()
	for i, ph := range e.cfg.Phases {
		pacer := NewPacer(ph, e.cfg.Seed+int64(i))
		var sent int64
		var last time.Duration // the last event's due time, from start
		for {
			elapsed := time.Since(start)
			wait, stop := pacer.Pace(elapsed, sent)
			if stop {
				break
			}
			last = elapsed + wait
			intended := start.Add(last)
			// Build the event before waiting, so its cost is not part of
			// the send-time error.
			it, err := e.cfg.Events.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("next event: %w", err)
			}
			if !waitUntil(ctx, timer, intended, wait) {
				return nil
			}
			// Events queued together (a customer change's burst) go out
			// at once, at the same intended time. OnEmit sees the change
			// with its burst attached, then each event of it; the jobs
			// hold no burst.
			together := it.With
			for j, it := range append([]event.Item{it}, together...) {
				if e.cfg.OnEmit != nil {
					e.cfg.OnEmit(it)
				}
				if j == 0 {
					it.With = nil
				}
				if e.cfg.Coalesce {
					e.queue.emitted(it)
				}
				e.work.Add(1)
				if !e.submit(ctx, drainCtx, job{it: it, n: 1, intended: intended, phase: i}) {
					e.work.Done()
					return nil
				}
				sent++
			}
		}
		start = start.Add(ph.end(sent, last))
	}
	// The last phase lasts its whole duration too.
	waitUntil(ctx, timer, start, time.Until(start))
	return nil
}

// waitUntil sleeps until t. Go's timers can fire up to about a millisecond
// late, so the last stretch (at most 1ms, at most a tenth of the wait) is a
// busy-wait: yielding instead would queue the scheduler behind every
// runnable request goroutine at high rates. When the clock does not move while spinning (a
// testing/synctest bubble) it falls back to the timer.
func waitUntil(ctx context.Context, timer *time.Timer, t time.Time, wait time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	if wait <= 0 {
		return true
	}
	spin := min(time.Millisecond, wait/10)
	sleepFor := func(d time.Duration) bool {
		if d <= 0 {
			return true
		}
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		}
	}
	if !sleepFor(time.Until(t) - spin) {
		return false
	}
	last, still := time.Now(), 0
	for now := last; now.Before(t); now = time.Now() {
		if now.Equal(last) {
			if still++; still > 64 {
				return sleepFor(time.Until(t))
			}
		} else {
			last, still = now, 0
		}
	}
	return true
}

// attempt sends one request message: fresh Date and signature, the same
// body bytes.
func (e *engine) attempt(ctx context.Context, slot *atomic.Int64, j job) *Record {
	it, n, dup := j.it, j.n, j.dup
	inFlight := e.inFlight.Add(1)
	defer e.inFlight.Add(-1)
	if e.cfg.OnAttempt != nil {
		e.cfg.OnAttempt(inFlight)
	}
	e.attempts.Add(1)
	r := &Record{IEvent: it.IEvent, EventType: it.Type, Entity: it.Entity, Attempt: n, Phase: j.phase, Duplicate: dup, Intended: j.intended,
		Last: it.Last}
	tctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	slot.Store(time.Now().UnixNano())
	status, err := e.send(tctx, it.Body, r)
	r.Answered = time.Now()
	slot.Store(0)
	e.answered.Store(r.Answered.UnixNano())
	if err != nil {
		status = 0 // a 200 whose body did not arrive in time is no answer: the ESPF re-sends
		timedOut := errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		r.Error = espf.ErrorClass(err, timedOut)
		if r.Error != espf.ErrTimeout && r.Error != espf.ErrCanceled {
			r.Detail = errorDetail(err)
		}
	}
	r.Status = status
	switch {
	case status != 0:
		e.unreach.Store(nil)
	case r.Error != "" && r.Error != espf.ErrTimeout && r.Error != espf.ErrCanceled:
		text := r.ErrorText()
		e.unreach.Store(&text)
	}
	switch {
	case ctx.Err() != nil && err != nil:
		r.Outcome = espf.Pending
	case dup:
		r.Outcome = espf.Consequence(status, err != nil) // a duplicate is sent once; say what the ESPF would do
	default:
		r.Outcome = espf.Classify(status, err, n >= e.cfg.Retry.MaxAttempts)
	}
	e.results <- r
	return r
}

func (e *engine) send(ctx context.Context, body []byte, r *Record) (int, error) {
	now := time.Now()
	req, err := espf.NewRequest(ctx, e.cfg.URL, body, e.cfg.Headers, e.cfg.Auth, now)
	if err != nil {
		r.Sent = now
		return 0, err
	}
	r.Sent = time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, err
	}
	// The answer is complete when its body is (up to MaxBody): a status
	// line followed by a body that never ends within the timeout is a
	// timeout, as for the ESPF. Its start is kept when the answer is not
	// a plain delivery (espf.Keep): the Application's own words.
	head := e.heads.Get().(*[]byte)
	defer e.heads.Put(head)
	n, err := io.ReadFull(resp.Body, *head)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = nil
	}
	var more int64
	if err == nil {
		more, err = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBody-int64(n)))
	}
	_ = resp.Body.Close()
	if err == nil && espf.Keep(resp.StatusCode, (*head)[:n]) {
		r.Reply = espf.NewReply(resp.StatusCode, resp.Header, (*head)[:n], more > 0)
		r.Reply.Scrub(req.Header)
	}
	return resp.StatusCode, err
}

// slot registers one more worker's in-flight clock.
func (e *engine) slot() *atomic.Int64 {
	s := new(atomic.Int64)
	e.slotsMu.Lock()
	e.slots = append(e.slots, s)
	e.slotsMu.Unlock()
	return s
}

// oldestInFlight is the age at now of the oldest request still waiting.
func (e *engine) oldestInFlight(now time.Time) time.Duration {
	e.slotsMu.Lock()
	defer e.slotsMu.Unlock()
	var oldest int64
	for _, s := range e.slots {
		if t := s.Load(); t != 0 && (oldest == 0 || t < oldest) {
			oldest = t
		}
	}
	if oldest == 0 {
		return 0
	}
	return max(now.Sub(time.Unix(0, oldest)), 0)
}

// sinceAnswer is the time at now since the last attempt ended, or since
// the start.
func (e *engine) sinceAnswer(now time.Time) time.Duration {
	last := e.start
	if t := e.answered.Load(); t != 0 {
		last = time.Unix(0, t)
	}
	return max(now.Sub(last), 0)
}

// errorDetail is a transport error's own words without net/http's
// `Post "URL": ` prefix, e.g. "tls: failed to verify certificate: x509:
// certificate signed by unknown authority".
func errorDetail(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}
