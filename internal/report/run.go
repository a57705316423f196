package report

import (
	"fmt"
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
	// Rejections are the built-in receiver's answers other than 200, by
	// status and reason, most frequent first (nil with a target).
	Rejections []Rejection
}

// Rejection counts the built-in receiver's answers of one status for one
// reason: "401 × 20: basic password does not match".
type Rejection struct {
	Status int    `json:"status"` // 0: no answer (a hang or a reset)
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

func (r Rejection) String() string {
	st := "no answer"
	if r.Status != 0 {
		st = fmt.Sprint(r.Status)
	}
	return fmt.Sprintf("%s × %d: %s", st, r.Count, r.Reason)
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
