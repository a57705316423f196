package report

import (
	"math"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sim"
)

// Series buckets attempts over time for the HTML report's charts. Memory is
// bounded: when the run outgrows maxBuckets, neighbouring buckets merge and
// the bucket width doubles; only events waiting for a re-send are
// remembered, for their time to delivery.
type Series struct {
	Start   time.Time
	Width   time.Duration
	Buckets []Bucket

	firstIntended map[int64]time.Time // events in flight after their first attempt
}

// Bucket is one slice of time, keyed by the attempts' intended send time.
type Bucket struct {
	Attempts  int64
	OK        int64 // answered 200
	Rejected  int64 // answered 4xx
	Failed    int64 // any other answer or an error
	SumLatS   float64
	MaxLatS   float64
	Delivered int64 // events delivered in this bucket
	Lat       logHist

	// Time to delivery of the events first due in this bucket (and
	// delivered), from their first intended send time to the 200.
	TTDCount int64
	SumTTDS  float64
	MaxTTDS  float64
	TTD      logHist
}

// logHist is a coarse latency histogram small enough to keep per bucket:
// four bins per power of two of microseconds (each bin 19 % wide), for
// the p99 line of the charts.
type logHist [128]uint32

func (h *logHist) add(d time.Duration) {
	us := max(d.Microseconds(), 1)
	i := int(math.Log2(float64(us)) * 4)
	h[min(max(i, 0), len(h)-1)]++
}

func (h *logHist) merge(o *logHist) {
	for i, n := range o {
		h[i] += n
	}
}

// quantile is the upper bound of the bin holding quantile q (0..1), in
// seconds.
func (h *logHist) quantile(q float64) float64 {
	var total uint64
	for _, n := range h {
		total += uint64(n)
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, n := range h {
		seen += uint64(n)
		if seen >= max(rank, 1) {
			return math.Pow(2, float64(i+1)/4) / 1e6
		}
	}
	return 0
}

const maxBuckets = 600

// NewSeries starts a series at start with one-second buckets.
func NewSeries(start time.Time) *Series {
	return &Series{Start: start, Width: time.Second}
}

// Record implements sim.Sink: every attempt counts in its bucket, and a
// delivered event's time to delivery in the bucket it was first due in.
func (s *Series) Record(r *sim.Record) {
	s.Add(r.Intended, r.Latency(), r.Status)
	if r.Duplicate {
		return
	}
	if s.firstIntended == nil {
		s.firstIntended = map[int64]time.Time{}
	}
	first := r.Intended
	if r.Attempt > 1 {
		f, ok := s.firstIntended[r.IEvent]
		if ok {
			first = f
		}
	}
	switch r.Outcome {
	case espf.Delivered:
		s.AddDelivery(first, r.Answered.Sub(first))
		delete(s.firstIntended, r.IEvent)
	case espf.Dropped, espf.GaveUp:
		delete(s.firstIntended, r.IEvent)
	default:
		if r.Attempt == 1 {
			s.firstIntended[r.IEvent] = first
		}
	}
}

// AddDelivery counts one delivered event first due at first, delivered
// ttd later.
func (s *Series) AddDelivery(first time.Time, ttd time.Duration) {
	b := s.bucket(first)
	b.TTDCount++
	v := ttd.Seconds()
	b.SumTTDS += v
	b.MaxTTDS = max(b.MaxTTDS, v)
	b.TTD.add(ttd)
}

func (s *Series) bucket(t time.Time) *Bucket {
	off := t.Sub(s.Start)
	if off < 0 {
		off = 0
	}
	i := int(off / s.Width)
	for i >= maxBuckets {
		s.halve()
		i = int(off / s.Width)
	}
	for len(s.Buckets) <= i {
		s.Buckets = append(s.Buckets, Bucket{})
	}
	return &s.Buckets[i]
}

// Progress implements sim.Sink.
func (s *Series) Progress(sim.Snapshot) {}

// Add counts one attempt. status is 0 when there was no answer.
func (s *Series) Add(intended time.Time, latency time.Duration, status int) {
	b := s.bucket(intended)
	b.Attempts++
	switch espf.Consequence(status, status == 0) {
	case espf.Delivered:
		b.OK++
		b.Delivered++
	case espf.Dropped:
		b.Rejected++
	default:
		b.Failed++
	}
	l := latency.Seconds()
	b.SumLatS += l
	b.MaxLatS = max(b.MaxLatS, l)
	b.Lat.add(latency)
}

func (s *Series) halve() {
	merged := make([]Bucket, (len(s.Buckets)+1)/2)
	for i, b := range s.Buckets {
		m := &merged[i/2]
		m.Attempts += b.Attempts
		m.OK += b.OK
		m.Rejected += b.Rejected
		m.Failed += b.Failed
		m.Delivered += b.Delivered
		m.SumLatS += b.SumLatS
		m.MaxLatS = max(m.MaxLatS, b.MaxLatS)
		m.Lat.merge(&b.Lat)
		m.TTDCount += b.TTDCount
		m.SumTTDS += b.SumTTDS
		m.MaxTTDS = max(m.MaxTTDS, b.MaxTTDS)
		m.TTD.merge(&b.TTD)
	}
	s.Buckets = merged
	s.Width *= 2
}
