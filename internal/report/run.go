package report

import (
	"time"

	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/verify"
)

// Run is what one scenario run produced, as `run` renders it: the sender's
// summary and series, the built-in receiver's view, and the expectations.
type Run struct {
	Scenario *scenario.Scenario
	Start    time.Time
	Elapsed  time.Duration
	URL      string        // where events went
	APIURL   string        // the ESPF API mock, when the scenario has one
	Builtin  bool          // the built-in receiver answered
	Summary  *Summary      // the sender's view
	Receiver *verify.Stats // the built-in receiver's view (nil with a target)
	Measured scenario.Measured
	Outcomes []scenario.Outcome
	Series   *Series
}

// Interrupted reports whether the run was cut short (SIGINT): the report
// covers what was sent until then.
func (r *Run) Interrupted() bool { return r.Summary != nil && r.Summary.Interrupted }

// Pass reports whether the run completed and every expectation held.
func (r *Run) Pass() bool {
	if r.Interrupted() {
		return false
	}
	for _, o := range r.Outcomes {
		if !o.Pass {
			return false
		}
	}
	return true
}
