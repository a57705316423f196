package report

import (
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sim"
)

// Series buckets attempts over time for the HTML report's charts. Memory is
// bounded: when the run outgrows maxBuckets, neighbouring buckets merge and
// the bucket width doubles.
type Series struct {
	Start   time.Time
	Width   time.Duration
	Buckets []Bucket
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
}

const maxBuckets = 600

// NewSeries starts a series at start with one-second buckets.
func NewSeries(start time.Time) *Series {
	return &Series{Start: start, Width: time.Second}
}

// Record implements sim.Sink: every attempt counts in its bucket.
func (s *Series) Record(r *sim.Record) { s.Add(r.Intended, r.Latency(), r.Status) }

// Progress implements sim.Sink.
func (s *Series) Progress(sim.Snapshot) {}

// Add counts one attempt. status is 0 when there was no answer.
func (s *Series) Add(intended time.Time, latency time.Duration, status int) {
	off := intended.Sub(s.Start)
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
	b := &s.Buckets[i]
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
	}
	s.Buckets = merged
	s.Width *= 2
}
