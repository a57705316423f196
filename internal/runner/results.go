package runner

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/sim"
)

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
			return nil, &InputError{"report.results", err}
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

// shapeTally counts, as events are emitted, a lifecycle's internal event
// names and its bursts: a customer change is emitted with its burst
// attached (event.Item.With), then each event of the burst. The sender's
// scheduling goroutine calls emitted; the run reads it once sending is
// over.
type shapeTally struct {
	internal int64
	bursts   *report.Bursts
}

func (t *shapeTally) emitted(it event.Item) {
	if it.Internal {
		t.internal++
	}
	if len(it.With) == 0 {
		return
	}
	if t.bursts == nil {
		t.bursts = &report.Bursts{}
	}
	t.bursts.AddBurst(it.Burst, it.IEvent, len(it.With))
}

// result is the tally, once sending is over.
func (t *shapeTally) result() (int64, *report.Bursts) { return t.internal, t.bursts }
