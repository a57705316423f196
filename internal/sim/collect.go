package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/espfctl/espfctl/internal/report"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// collect owns the metrics and the results file: every attempt passes
// through here, so neither needs a lock. It also calls Progress.
func (e *engine) collect(m *report.Metrics) error {
	var w *bufio.Writer
	var enc *json.Encoder
	if e.cfg.Results != nil {
		w = bufio.NewWriterSize(e.cfg.Results, 64<<10)
		enc = json.NewEncoder(w)
	}
	var tick <-chan time.Time
	if e.cfg.Progress != nil {
		t := time.NewTicker(e.cfg.ProgressEvery)
		defer t.Stop()
		tick = t.C
	}
	start := time.Now()
	last, lastSent := start, int64(0)
	var werr error
	for {
		select {
		case r, ok := <-e.results:
			if !ok {
				if w != nil && werr == nil {
					if err := w.Flush(); err != nil {
						werr = fmt.Errorf("write results: %w", err)
					}
				}
				if e.cfg.Progress != nil {
					e.cfg.Progress(e.snapshot(m, start, time.Now(), &last, &lastSent))
				}
				return werr
			}
			m.Add(r)
			if e.cfg.OnResult != nil {
				e.cfg.OnResult(r)
			}
			if enc != nil && werr == nil {
				if err := enc.Encode(r); err != nil {
					werr = fmt.Errorf("write results: %w", err)
				}
			}
		case now := <-tick:
			e.cfg.Progress(e.snapshot(m, start, now, &last, &lastSent))
		}
	}
}

func (e *engine) snapshot(m *report.Metrics, start, now time.Time, last *time.Time, lastSent *int64) Snapshot {
	sent := m.Events()
	s := Snapshot{Elapsed: now.Sub(start), Sent: sent, Attempts: e.attempts.Load(), InFlight: e.inFlight.Load(),
		Delivered: m.Delivered(), Retrying: e.retrying.Load(), Dropped: m.Dropped(), P99: m.P99()}
	if d := now.Sub(*last); d > 0 {
		s.Rate = float64(sent-*lastSent) / d.Seconds()
	}
	*last, *lastSent = now, sent
	return s
}
