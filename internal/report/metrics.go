package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/sim"
)

// Quantiles summarises one latency histogram, in milliseconds.
type Quantiles struct {
	Count  int64   `json:"count"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P90MS  float64 `json:"p90_ms"`
	P99MS  float64 `json:"p99_ms"`
	P999MS float64 `json:"p99_9_ms"`
	MaxMS  float64 `json:"max_ms"`
}

// Outcomes counts events (not attempts) by how they ended.
type Outcomes struct {
	DeliveredFirstTry   int64 `json:"delivered_first_try"`
	DeliveredAfterRetry int64 `json:"delivered_after_retries"`
	DroppedBy4xx        int64 `json:"dropped_4xx"`
	GaveUp              int64 `json:"gave_up"`
	StillPending        int64 `json:"still_pending"`
	// Superseded events were waiting for a re-send when a newer event of
	// the same coalesced type and account or customer was emitted: never
	// sent again, neither delivered nor lost (contract §7).
	Superseded int64 `json:"superseded,omitempty"`
}

// TypeCounts counts one event type's events by how they ended.
type TypeCounts struct {
	Events    int64 `json:"events"`
	Delivered int64 `json:"delivered"`
	Dropped   int64 `json:"dropped_4xx"`
	GaveUp    int64 `json:"gave_up"`
	// Superseded by a newer event of the same coalesced type and entity.
	Superseded int64 `json:"superseded,omitempty"`
}

// Duplicates says how re-sent, already delivered events were answered:
// anything but 200 is a finding (the Application must accept an event twice).
type Duplicates struct {
	Sent     int64            `json:"sent"`
	ByAnswer map[string]int64 `json:"by_answer"`
	Findings int64            `json:"findings"`
}

// DroppedEvent is an event the ESPF would not provision.
type DroppedEvent struct {
	IEvent    int64  `json:"i_event"`
	EventType string `json:"event_type"`
	Status    int    `json:"status"`
}

// Summary is the final report of a run, or of several merged results files.
type Summary struct {
	Start          time.Time               `json:"start"`
	End            time.Time               `json:"end"`
	Events         int64                   `json:"events"`
	Payload        string                  `json:"payload,omitempty"`         // the generated bodies' shape: enriched or minimal ("" for a replay or a list, sent as written)
	InternalEvents int64                   `json:"internal_events,omitempty"` // a lifecycle's internal event names (contract §8)
	Bursts         *Bursts                 `json:"bursts,omitempty"`          // customer changes sent on to their accounts at once
	Attempts       int64                   `json:"attempts"`
	TargetRate     float64                 `json:"target_rate_per_s"`   // from the intended times of first attempts
	AchievedRate   float64                 `json:"achieved_rate_per_s"` // from their actual send times
	Outcomes       Outcomes                `json:"outcomes"`
	TimeToDelivery Quantiles               `json:"time_to_delivery"`                   // per delivered event: first intended send -> the 200, across re-sends; events still pending count with their age
	PendingInTTD   int64                   `json:"time_to_delivery_pending,omitempty"` // events still pending, counted in time_to_delivery with their age
	ByAnswer       map[string]int64        `json:"by_answer"`                          // every attempt: "200", "503", "timeout"…
	ByType         map[string]TypeCounts   `json:"by_type"`
	Latency        Quantiles               `json:"latency"`    // answered - intended
	Service        Quantiles               `json:"service"`    // answered - sent
	SenderLag      Quantiles               `json:"sender_lag"` // sent - intended: how far behind its schedule the sender sent
	SendError      Quantiles               `json:"send_error"` // Deprecated: SenderLag under its earlier name; the same figures, written for the readers of that key
	Duplicates     Duplicates              `json:"duplicates"`
	Dropped        []DroppedEvent          `json:"dropped,omitempty"` // the first ones, up to 20
	MaxInFlight    int                     `json:"max_in_flight,omitempty"`
	CapBound       int64                   `json:"cap_bound,omitempty"` // sends that waited for a free in-flight slot
	CapWaitMS      float64                 `json:"cap_wait_ms,omitempty"`
	DrainExpired   bool                    `json:"drain_expired,omitempty"`
	Interrupted    bool                    `json:"interrupted,omitempty"`
	Accounts       []espfapi.AccountStatus `json:"accounts,omitempty"` // from the ESPF API mock
	APICallsFailed int64                   `json:"api_calls_rejected,omitempty"`
	Phases         []PhaseSummary          `json:"phases,omitempty"` // one per schedule phase
	Errors         []ErrorReason           `json:"errors,omitempty"` // attempts without an answer, by error class, with the first one's words
	// Failures is what the Application said when it did not deliver: its
	// answers other than 200, and 200s whose body reads as a failure, by
	// status and the body's first line, most frequent first.
	Failures         []Failure `json:"failures,omitempty"`
	FailuresUnlisted int64     `json:"failures_unlisted,omitempty"` // answers past the groups kept
	// Refused is set when most attempts were answered 401 or 403: the
	// Application refused the credentials, and which one to look at.
	Refused *Refused `json:"credentials_refused,omitempty"`
	// Lifecycles (entity histories): deliveries that came after a later
	// event of the same entity, and every entity's final state as the
	// Application shows it (--state-url).
	Reordered  *entity.Reordered  `json:"reordered,omitempty"`
	FinalState *entity.FinalState `json:"final_state,omitempty"`
	// Durability is the verdict across restarts of the Application
	// (--restart-cmd): nothing answered 200 lost, nothing applied twice.
	Durability *entity.Durability `json:"durability,omitempty"`
	// The PortaBilling API mock: calls per method, entities it held.
	APICalls    []espfapi.MethodCalls `json:"api_calls,omitempty"`
	APIEntities int                   `json:"api_entities,omitempty"`
}

// PhaseSummary is one schedule phase's share of the run: its events are
// those first sent in it (their re-sends may come later).
type PhaseSummary struct {
	Index          int       `json:"index"`          // 0 = the first phase
	Name           string    `json:"name,omitempty"` // as the scenario names it
	Start          time.Time `json:"start"`          // the first event's intended send time
	End            time.Time `json:"end"`            // the last answer to one of its events
	Events         int64     `json:"events"`
	Attempts       int64     `json:"attempts"`
	TargetRate     float64   `json:"target_rate_per_s"`
	AchievedRate   float64   `json:"achieved_rate_per_s"`
	Outcomes       Outcomes  `json:"outcomes"`
	Latency        Quantiles `json:"latency"`
	TimeToDelivery Quantiles `json:"time_to_delivery"`
}

// Refused says that most attempts were answered 401 or 403.
type Refused struct {
	Count       int64  `json:"count"`       // attempts answered 401 or 403
	Attempts    int64  `json:"attempts"`    // every attempt
	Credentials string `json:"credentials"` // what was sent, without its secret: "basic credentials (user "pb" and its password)"
	Hint        string `json:"hint"`        // the flags that set it
}

// refusedCredentials is Refused when more than half of the attempts were
// answered 401 or 403, else nil.
func refusedCredentials(by map[string]int64, attempts int64, creds, flags string) *Refused {
	n := by["401"] + by["403"]
	if n == 0 || 2*n <= attempts || creds == "" {
		return nil
	}
	return &Refused{Count: n, Attempts: attempts, Credentials: creds,
		Hint: "are these the credentials the Application expects? (" + flags + ")"}
}

// ErrorReason counts the attempts that got no answer for one error class,
// with the first one's own words and, where one exists, the fix.
type ErrorReason struct {
	Class   string `json:"class"` // espf.ErrorClass: tls, refused, timeout…
	Count   int64  `json:"count"`
	Example string `json:"example,omitempty"` // e.g. "tls: failed to verify certificate: x509: certificate signed by unknown authority"
	Hint    string `json:"hint,omitempty"`    // e.g. pass --ca-file …
}

// AllDelivered reports whether every event got its 200, or was superseded
// by a newer one that PortaBilling processes instead.
func (s *Summary) AllDelivered() bool {
	o := s.Outcomes
	return s.Events > 0 && o.DeliveredFirstTry+o.DeliveredAfterRetry+o.Superseded == s.Events
}

// NotDelivered counts the events that were neither delivered nor
// superseded.
func (s *Summary) NotDelivered() int64 {
	o := s.Outcomes
	return s.Events - o.DeliveredFirstTry - o.DeliveredAfterRetry - o.Superseded
}

// Metrics aggregates the sender's attempt records into a Summary. It is a
// sim.Sink. Its memory stays flat however many records it sees: latencies
// go into HDR histograms, and only events still in flight (waiting for a
// re-send) are remembered, for their time to delivery. It is not safe for
// concurrent use.
type Metrics struct {
	s            Summary
	lat, svc     *hdrhistogram.Histogram
	sendErr, ttd *hdrhistogram.Histogram
	all          span
	finalized    int64
	inFlight     map[int64]firstSend // events sent and not finished yet, by i_event
	phases       []*phaseMetrics
	errors       map[string]*ErrorReason
	failures     map[failureKey]*Failure
}

// failureKey groups the Application's answers: one status, one first line.
type failureKey struct {
	status int
	line   string
}

// firstSend is what an event in flight needs for its time to delivery.
type firstSend struct {
	intended time.Time
	phase    int
}

// span is the first and last intended and actual send times of first
// attempts, for the target and achieved rates.
type span struct {
	firstIntended, lastIntended time.Time
	firstSent, lastSent         time.Time
}

func (sp *span) add(r *sim.Record) {
	if sp.firstIntended.IsZero() || r.Intended.Before(sp.firstIntended) {
		sp.firstIntended = r.Intended
	}
	if r.Intended.After(sp.lastIntended) {
		sp.lastIntended = r.Intended
	}
	if sp.firstSent.IsZero() || r.Sent.Before(sp.firstSent) {
		sp.firstSent = r.Sent
	}
	if r.Sent.After(sp.lastSent) {
		sp.lastSent = r.Sent
	}
}

// rates are the target (from intended times) and achieved (from actual send
// times) rates of events first attempts.
func (sp *span) rates(events int64) (target, achieved float64) {
	if events > 1 {
		if d := sp.lastIntended.Sub(sp.firstIntended); d > 0 {
			target = float64(events-1) / d.Seconds()
		}
		if d := sp.lastSent.Sub(sp.firstSent); d > 0 {
			achieved = float64(events-1) / d.Seconds()
		}
	}
	return target, achieved
}

// phaseMetrics is one phase's part of the aggregate.
type phaseMetrics struct {
	events, attempts, finalized int64
	outcomes                    Outcomes
	lat, ttd                    *hdrhistogram.Histogram
	span                        span
	end                         time.Time
}

const (
	maxDropped = 20
	maxPhases  = 64 // a results file naming more phases folds the rest into the last
)

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}

// NewMetrics returns an empty aggregator. Histograms hold 1µs to 1h at
// three significant digits.
func NewMetrics() *Metrics {
	return &Metrics{lat: newHist(), svc: newHist(), sendErr: newHist(), ttd: newHist(),
		inFlight: map[int64]firstSend{}, errors: map[string]*ErrorReason{}, failures: map[failureKey]*Failure{},
		s: Summary{ByAnswer: map[string]int64{}, ByType: map[string]TypeCounts{},
			Duplicates: Duplicates{ByAnswer: map[string]int64{}}}}
}

// Record implements sim.Sink.
func (m *Metrics) Record(r *sim.Record) { m.Add(r) }

// Progress implements sim.Sink: the summary needs no progress.
func (m *Metrics) Progress(sim.Snapshot) {}

func (m *Metrics) phase(i int) *phaseMetrics {
	i = min(max(i, 0), maxPhases-1)
	for len(m.phases) <= i {
		m.phases = append(m.phases, &phaseMetrics{lat: newHist(), ttd: newHist()})
	}
	return m.phases[i]
}

// Add counts one attempt.
func (m *Metrics) Add(r *sim.Record) {
	s := &m.s
	if r.Outcome == espf.Superseded { // not an attempt: the event ends without one
		s.Outcomes.Superseded++
		ph := m.phase(r.Phase)
		if f, ok := m.inFlight[r.IEvent]; ok {
			ph = m.phase(f.phase)
		}
		ph.outcomes.Superseded++
		m.finalize(r, ph)
		tc := s.ByType[r.EventType]
		tc.Superseded++
		s.ByType[r.EventType] = tc
		return
	}
	s.Attempts++
	answer := r.Answer()
	s.ByAnswer[answer]++
	if r.Error != "" && r.Error != espf.ErrCanceled {
		m.addError(r)
	}
	if r.Reply != nil {
		m.addFailure(r)
	}
	if r.Outcome != espf.Pending {
		record(m.lat, r.Latency())
		record(m.svc, r.Service())
		record(m.sendErr, r.SendError())
	}
	if s.Start.IsZero() || r.Sent.Before(s.Start) {
		s.Start = r.Sent
	}
	if r.Answered.After(s.End) {
		s.End = r.Answered
	}
	if r.Duplicate {
		s.Duplicates.Sent++
		s.Duplicates.ByAnswer[answer]++
		if r.Status != 200 {
			s.Duplicates.Findings++
		}
		return
	}
	ph := m.phase(r.Phase)
	ph.attempts++
	if r.Outcome != espf.Pending {
		record(ph.lat, r.Latency())
	}
	if r.Answered.After(ph.end) {
		ph.end = r.Answered
	}
	tc := s.ByType[r.EventType]
	first := firstSend{intended: r.Intended, phase: r.Phase}
	if r.Attempt == 1 {
		s.Events++
		tc.Events++
		ph.events++
		m.all.add(r)
		ph.span.add(r)
	} else if f, ok := m.inFlight[r.IEvent]; ok {
		first = f
	}
	switch r.Outcome {
	case espf.Delivered:
		tc.Delivered++
		m.finalize(r, ph)
		ttd := r.Answered.Sub(first.intended)
		record(m.ttd, ttd)
		record(m.phase(first.phase).ttd, ttd)
		if r.Attempt == 1 {
			s.Outcomes.DeliveredFirstTry++
			ph.outcomes.DeliveredFirstTry++
		} else {
			s.Outcomes.DeliveredAfterRetry++
			m.phase(first.phase).outcomes.DeliveredAfterRetry++
		}
	case espf.Dropped:
		tc.Dropped++
		m.finalize(r, ph)
		s.Outcomes.DroppedBy4xx++
		m.phase(first.phase).outcomes.DroppedBy4xx++
		if len(s.Dropped) < maxDropped {
			s.Dropped = append(s.Dropped, DroppedEvent{IEvent: r.IEvent, EventType: r.EventType, Status: r.Status})
		}
	case espf.GaveUp:
		tc.GaveUp++
		m.finalize(r, ph)
		s.Outcomes.GaveUp++
		m.phase(first.phase).outcomes.GaveUp++
	default: // re-sent, or pending: still in flight
		if r.Attempt == 1 {
			m.inFlight[r.IEvent] = first
		}
	}
	s.ByType[r.EventType] = tc
}

// finalize ends an event: it is no longer in flight.
func (m *Metrics) finalize(r *sim.Record, ph *phaseMetrics) {
	m.finalized++
	if f, ok := m.inFlight[r.IEvent]; ok {
		ph = m.phase(f.phase)
		delete(m.inFlight, r.IEvent)
	}
	ph.finalized++
}

const maxErrorClasses = 32

// maxFailures bounds the groups of answers kept (bodies that name an
// i_event or a time are many); the rest are counted in FailuresUnlisted.
const maxFailures = 50

// Failure counts the Application's answers of one status whose bodies
// start with the same line: any status but 200, and the 200s whose body
// reads as a failure (espf.FailureBody). One example keeps its i_event
// and its body's first 4 KiB.
type Failure struct {
	Status    int    `json:"status"`
	FirstLine string `json:"first_line"` // the body's first non-empty line, "" for an empty body
	Count     int64  `json:"count"`
	IEvent    int64  `json:"example_i_event"`
	Body      string `json:"example_body,omitempty"`
	Truncated bool   `json:"example_truncated,omitempty"`
}

func (m *Metrics) addFailure(r *sim.Record) {
	k := failureKey{r.Reply.Status, r.Reply.FirstLine()}
	f := m.failures[k]
	if f == nil {
		if len(m.failures) >= maxFailures {
			m.s.FailuresUnlisted++
			return
		}
		f = &Failure{Status: k.status, FirstLine: k.line, IEvent: r.IEvent, Body: r.Reply.Body, Truncated: r.Reply.Truncated}
		m.failures[k] = f
	}
	f.Count++
}

func (m *Metrics) addError(r *sim.Record) {
	e := m.errors[r.Error]
	if e == nil {
		if len(m.errors) >= maxErrorClasses {
			return
		}
		e = &ErrorReason{Class: r.Error}
		m.errors[r.Error] = e
	}
	e.Count++
	if e.Example == "" && r.Error == espf.ErrTimeout {
		e.Example = timeoutExample
		e.Hint = errorFix(r.Error, "").hint
	}
	if e.Example == "" && r.Detail != "" {
		e.Example = r.Detail
		e.Hint = errorFix(r.Error, r.Detail).hint
	}
}

const timeoutExample = "no answer within the timeout; the ESPF re-sends after it"

// classWords says what each transport error class means, for people.
var classWords = map[string]string{
	espf.ErrTimeout:    "no answer within the timeout",
	espf.ErrReset:      "the connection was reset before an answer came",
	espf.ErrRefused:    "the connection was refused: nothing listens there",
	espf.ErrEOF:        "the connection was closed before an answer came",
	espf.ErrDNS:        "the host name did not resolve",
	espf.ErrTLS:        "the TLS handshake failed",
	espf.ErrConnection: "the connection failed",
	espf.ErrCanceled:   "the run was interrupted while the request was in flight",
}

// Words is what the text and HTML reports say about these attempts: what
// the class means, then the error's innermost words ("the connection was
// closed before an answer came (EOF)"), not Go's whole error text (which
// --json keeps in example).
func (e ErrorReason) Words() string {
	words, ok := classWords[e.Class]
	if !ok {
		words = e.Class
	}
	if e.Example == timeoutExample {
		return timeoutExample
	}
	if d := shortDetail(e.Example); d != "" && !strings.EqualFold(d, words) {
		words += " (" + d + ")"
	}
	return words
}

// fix is what fixes a transport error, where the sender's flags can: hint
// for the report (ErrorReason.Hint), short for one status line.
type fix struct{ hint, short string }

// errorFix says what fixes a transport error of class whose own words are
// detail; the zero fix when nothing the sender sets can.
func errorFix(class, detail string) fix {
	if strings.Contains(detail, "server gave HTTP response to HTTPS client") || strings.Contains(detail, "first record does not look like a TLS handshake") {
		return fix{"https to a plain-http listener: the Application answers plain HTTP; use an http:// --url (or give it TLS)", "https to a plain-http listener: use an http:// --url"}
	}
	switch class {
	case espf.ErrTimeout:
		return fix{"a slow or hung Application: its answer must come within the ESPF's timeout (--timeout, delivery.timeout in a scenario)",
			"a slow or hung Application; --timeout sets the wait"}
	case espf.ErrTLS:
	default:
		return fix{}
	}
	switch {
	case strings.Contains(detail, "unknown authority"), strings.Contains(detail, "not standards compliant"):
		return fix{"the Application's certificate is not signed by a CA this machine trusts: pass --ca-file with the CA's PEM (target.tls.ca_file in a scenario), or --insecure-skip-verify to test without checking it",
			"use --ca-file FILE, or --insecure-skip-verify to test"}
	// x509.HostnameError: "certificate is valid for a, b, not c", or "…is
	// not valid for any names…"
	case strings.Contains(detail, "certificate is valid for"), strings.Contains(detail, "not valid for"), strings.Contains(detail, "doesn't contain any IP SANs"):
		return fix{"the certificate does not name this host: use the host name it was issued for in --url, or --insecure-skip-verify to test without checking it",
			"use the host name it was issued for in --url, or --insecure-skip-verify to test"}
	case strings.Contains(detail, "expired"), strings.Contains(detail, "not yet valid"):
		return fix{"the certificate is outside its validity period: renew it, or --insecure-skip-verify to test without checking it",
			"renew it, or --insecure-skip-verify to test"}
	case strings.Contains(detail, "certificate required"), strings.Contains(detail, "bad certificate"):
		return fix{"the Application wants a client certificate: pass --cert and --cert-key", "use --cert FILE --cert-key FILE"}
	}
	return fix{"check the Application's certificate; --ca-file trusts a private CA, --insecure-skip-verify skips the check (tests only)",
		"--ca-file FILE trusts a private CA; --insecure-skip-verify to test"}
}

// maxReasonRunes bounds the error's words in NotDeliveredText: a
// certificate may name many hosts.
const maxReasonRunes = 100

// NotDeliveredText is the one line that ends a run whose events were not
// all delivered: how many, then the most frequent answer other than 200,
// with its fix in short when it is a transport error the sender's flags
// can fix, e.g. "2 of 2 events not delivered: tls: certificate signed by
// unknown authority (use --ca-file FILE, or --insecure-skip-verify to
// test)" or "2 of 2 events not delivered: answered 503". The reason is
// the report's own (ByAnswer, Errors), in shorter words.
func (s *Summary) NotDeliveredText() string {
	line := fmt.Sprintf("%d of %d events not delivered", s.NotDelivered(), s.Events)
	var top string
	for answer, n := range s.ByAnswer {
		if answer == "200" || answer == "0" || answer == espf.ErrCanceled {
			continue
		}
		if m := s.ByAnswer[top]; top == "" || n > m || n == m && answer < top {
			top = answer
		}
	}
	if top == "" {
		return line
	}
	for _, e := range s.Errors {
		if e.Class != top {
			continue
		}
		detail := shortDetail(e.Example)
		if e.Class == espf.ErrTimeout && e.Example == timeoutExample {
			detail = "no answer within the timeout"
		}
		line += ": " + e.Class
		if detail != "" {
			line += ": " + detail
		}
		if f := errorFix(e.Class, e.Example); f.short != "" {
			line += " (" + f.short + ")"
		}
		return line
	}
	if _, err := strconv.Atoi(top); err == nil {
		for _, f := range s.Failures {
			if fmt.Sprint(f.Status) == top && strings.Contains(f.FirstLine, "HTTP request to an HTTPS server") {
				return line + ": answered " + top + ": plain http to an https listener (use an https:// --url)"
			}
		}
		return line + ": answered " + top
	}
	return line + ": " + top
}

// shortDetail is a transport error's innermost words: an x509 reason, else
// what follows the last ": " (as in "dial tcp …: connect: connection
// refused"), at most maxReasonRunes.
func shortDetail(d string) string {
	if i := strings.LastIndex(d, "x509: "); i >= 0 {
		d = d[i+len("x509: "):]
	} else if i := strings.LastIndex(d, ": "); i >= 0 {
		d = d[i+2:]
	}
	if r := []rune(d); len(r) > maxReasonRunes {
		d = string(r[:maxReasonRunes-1]) + "…"
	}
	return d
}

func record(h *hdrhistogram.Histogram, d time.Duration) {
	us := d.Microseconds()
	if us < 1 {
		us = 1 // the histogram's floor; a send on time has an error below 1µs
	}
	_ = h.RecordValue(min(us, h.HighestTrackableValue()))
}

// Inputs are what a summary is built from besides the attempt records:
// what only the engine knows, and what the ESPF API mock saw. A nil Run
// (results files merged by `report`) leaves the engine's fields empty.
type Inputs struct {
	Run         *sim.Stats
	Accounts    []espfapi.AccountStatus
	APIRejected int64
	PhaseNames  []string // the scenario's phase names, by index
	Reordered   *entity.Reordered
	FinalState  *entity.FinalState
	Durability  *entity.Durability
	APICalls    []espfapi.MethodCalls
	APIEntities int
	Payload     string // the generated bodies' shape, "" when they were not generated
	Internal    int64  // internal event names sent
	Bursts      *Bursts
	// Credentials names the credential the run sent (sign.Describe) and
	// CredentialFlags the flags that set it: the hint when most answers
	// are 401 or 403.
	Credentials, CredentialFlags string
}

// NewSummary builds the report of a run from its records (m) and in. The
// returned value shares nothing with m. Events still in flight count in
// the time to delivery with their age at the end of the run.
func NewSummary(m *Metrics, in Inputs) *Summary {
	s := m.s
	if r := in.Run; r != nil {
		s.MaxInFlight, s.CapBound, s.CapWaitMS = r.MaxInFlight, r.CapBound, float64(r.CapWait)/1e6
		s.DrainExpired, s.Interrupted = r.DrainExpired, r.Interrupted
	}
	s.Accounts, s.APICallsFailed, s.Payload = in.Accounts, in.APIRejected, in.Payload
	s.InternalEvents, s.Bursts = in.Internal, in.Bursts
	s.Reordered, s.FinalState, s.APICalls, s.APIEntities = in.Reordered, in.FinalState, in.APICalls, in.APIEntities
	s.Durability = in.Durability
	s.ByAnswer = clone(m.s.ByAnswer)
	s.ByType = clone(m.s.ByType)
	s.Refused = refusedCredentials(s.ByAnswer, s.Attempts, in.Credentials, in.CredentialFlags)
	s.Duplicates.ByAnswer = clone(m.s.Duplicates.ByAnswer)
	s.Dropped = append([]DroppedEvent(nil), m.s.Dropped...)
	s.Outcomes.StillPending = s.Events - m.finalized
	s.Latency, s.Service, s.SenderLag = quantiles(m.lat), quantiles(m.svc), quantiles(m.sendErr)
	s.SendError = s.SenderLag
	s.TargetRate, s.AchievedRate = m.all.rates(s.Events)

	ttd := copyHist(m.ttd)
	phaseTTD := make([]*hdrhistogram.Histogram, len(m.phases))
	for i, ph := range m.phases {
		phaseTTD[i] = copyHist(ph.ttd)
	}
	for _, f := range m.inFlight {
		age := s.End.Sub(f.intended)
		record(ttd, age)
		record(phaseTTD[min(max(f.phase, 0), len(phaseTTD)-1)], age)
		s.PendingInTTD++
	}
	s.TimeToDelivery = quantiles(ttd)
	for i, ph := range m.phases {
		p := PhaseSummary{Index: i, Start: ph.span.firstIntended, End: ph.end, Events: ph.events, Attempts: ph.attempts,
			Outcomes: ph.outcomes, Latency: quantiles(ph.lat), TimeToDelivery: quantiles(phaseTTD[i])}
		if i < len(in.PhaseNames) {
			p.Name = in.PhaseNames[i]
		}
		p.Outcomes.StillPending = ph.events - ph.finalized
		p.TargetRate, p.AchievedRate = ph.span.rates(ph.events)
		s.Phases = append(s.Phases, p)
	}
	for _, e := range m.errors {
		s.Errors = append(s.Errors, *e)
	}
	for _, f := range m.failures {
		s.Failures = append(s.Failures, *f)
	}
	sort.Slice(s.Failures, func(i, j int) bool {
		a, b := s.Failures[i], s.Failures[j]
		return a.Count > b.Count || a.Count == b.Count && (a.Status < b.Status || a.Status == b.Status && a.FirstLine < b.FirstLine)
	})
	sort.Slice(s.Errors, func(i, j int) bool {
		a, b := s.Errors[i], s.Errors[j]
		return a.Count > b.Count || a.Count == b.Count && a.Class < b.Class
	})
	return &s
}

func copyHist(h *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	c := newHist()
	c.Merge(h)
	return c
}

func clone[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func quantiles(h *hdrhistogram.Histogram) Quantiles {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	if h.TotalCount() == 0 {
		return Quantiles{}
	}
	return Quantiles{Count: h.TotalCount(), MeanMS: h.Mean() / 1000,
		P50MS: ms(h.ValueAtQuantile(50)), P90MS: ms(h.ValueAtQuantile(90)), P99MS: ms(h.ValueAtQuantile(99)),
		P999MS: ms(h.ValueAtQuantile(99.9)), MaxMS: ms(h.Max())}
}
