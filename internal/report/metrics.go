package report

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
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
}

// TypeCounts counts one event type's events by how they ended.
type TypeCounts struct {
	Events    int64 `json:"events"`
	Delivered int64 `json:"delivered"`
	Dropped   int64 `json:"dropped_4xx"`
	GaveUp    int64 `json:"gave_up"`
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
	Attempts       int64                   `json:"attempts"`
	TargetRate     float64                 `json:"target_rate_per_s"`   // from the intended times of first attempts
	AchievedRate   float64                 `json:"achieved_rate_per_s"` // from their actual send times
	Outcomes       Outcomes                `json:"outcomes"`
	ByAnswer       map[string]int64        `json:"by_answer"` // every attempt: "200", "503", "timeout"…
	ByType         map[string]TypeCounts   `json:"by_type"`
	Latency        Quantiles               `json:"latency"`    // answered - intended
	Service        Quantiles               `json:"service"`    // answered - sent
	SendError      Quantiles               `json:"send_error"` // sent - intended
	Duplicates     Duplicates              `json:"duplicates"`
	Dropped        []DroppedEvent          `json:"dropped,omitempty"` // the first ones, up to 20
	MaxInFlight    int                     `json:"max_in_flight,omitempty"`
	CapBound       int64                   `json:"cap_bound,omitempty"` // sends that waited for a free in-flight slot
	CapWaitMS      float64                 `json:"cap_wait_ms,omitempty"`
	DrainExpired   bool                    `json:"drain_expired,omitempty"`
	Interrupted    bool                    `json:"interrupted,omitempty"`
	Accounts       []espfapi.AccountStatus `json:"accounts,omitempty"` // from the ESPF API mock
	APICallsFailed int64                   `json:"api_calls_rejected,omitempty"`
}

// AllDelivered reports whether every event got its 200.
func (s *Summary) AllDelivered() bool {
	o := s.Outcomes
	return s.Events > 0 && o.DeliveredFirstTry+o.DeliveredAfterRetry == s.Events
}

// Metrics aggregates the sender's attempt records into a Summary. It is a
// sim.Sink. Its memory stays flat however many records it sees: latencies
// go into HDR histograms. It is not safe for concurrent use.
type Metrics struct {
	s                           Summary
	lat, svc, sendErr           *hdrhistogram.Histogram
	firstIntended, lastIntended time.Time
	firstSent, lastSent         time.Time
	finalized                   int64
}

const maxDropped = 20

// NewMetrics returns an empty aggregator. Histograms hold 1µs to 1h at
// three significant digits.
func NewMetrics() *Metrics {
	h := func() *hdrhistogram.Histogram { return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3) }
	return &Metrics{lat: h(), svc: h(), sendErr: h(), s: Summary{
		ByAnswer: map[string]int64{}, ByType: map[string]TypeCounts{},
		Duplicates: Duplicates{ByAnswer: map[string]int64{}}}}
}

// Record implements sim.Sink.
func (m *Metrics) Record(r *sim.Record) { m.Add(r) }

// Progress implements sim.Sink: the summary needs no progress.
func (m *Metrics) Progress(sim.Snapshot) {}

// Add counts one attempt.
func (m *Metrics) Add(r *sim.Record) {
	s := &m.s
	s.Attempts++
	answer := r.Answer()
	s.ByAnswer[answer]++
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
	tc := s.ByType[r.EventType]
	if r.Attempt == 1 {
		s.Events++
		tc.Events++
		m.span(r)
	}
	switch r.Outcome {
	case espf.Delivered:
		tc.Delivered++
		m.finalized++
		if r.Attempt == 1 {
			s.Outcomes.DeliveredFirstTry++
		} else {
			s.Outcomes.DeliveredAfterRetry++
		}
	case espf.Dropped:
		tc.Dropped++
		m.finalized++
		s.Outcomes.DroppedBy4xx++
		if len(s.Dropped) < maxDropped {
			s.Dropped = append(s.Dropped, DroppedEvent{IEvent: r.IEvent, EventType: r.EventType, Status: r.Status})
		}
	case espf.GaveUp:
		tc.GaveUp++
		m.finalized++
		s.Outcomes.GaveUp++
	}
	s.ByType[r.EventType] = tc
}

func (m *Metrics) span(r *sim.Record) {
	if m.firstIntended.IsZero() || r.Intended.Before(m.firstIntended) {
		m.firstIntended = r.Intended
	}
	if r.Intended.After(m.lastIntended) {
		m.lastIntended = r.Intended
	}
	if m.firstSent.IsZero() || r.Sent.Before(m.firstSent) {
		m.firstSent = r.Sent
	}
	if r.Sent.After(m.lastSent) {
		m.lastSent = r.Sent
	}
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
}

// NewSummary builds the report of a run from its records (m) and in. The
// returned value shares nothing with m.
func NewSummary(m *Metrics, in Inputs) *Summary {
	s := m.s
	if r := in.Run; r != nil {
		s.MaxInFlight, s.CapBound, s.CapWaitMS = r.MaxInFlight, r.CapBound, float64(r.CapWait)/1e6
		s.DrainExpired, s.Interrupted = r.DrainExpired, r.Interrupted
	}
	s.Accounts, s.APICallsFailed = in.Accounts, in.APIRejected
	s.ByAnswer = clone(m.s.ByAnswer)
	s.ByType = clone(m.s.ByType)
	s.Duplicates.ByAnswer = clone(m.s.Duplicates.ByAnswer)
	s.Dropped = append([]DroppedEvent(nil), m.s.Dropped...)
	s.Outcomes.StillPending = s.Events - m.finalized
	s.Latency, s.Service, s.SendError = quantiles(m.lat), quantiles(m.svc), quantiles(m.sendErr)
	if s.Events > 1 {
		if d := m.lastIntended.Sub(m.firstIntended); d > 0 {
			s.TargetRate = float64(s.Events-1) / d.Seconds()
		}
		if d := m.lastSent.Sub(m.firstSent); d > 0 {
			s.AchievedRate = float64(s.Events-1) / d.Seconds()
		}
	}
	return &s
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
