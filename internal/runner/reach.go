package runner

import (
	"fmt"
	"io"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/term"
)

// UnreachableError is a run in which no request was ever answered: the
// Application could not be reached (refused, DNS, TLS…) or never
// answered. The run could not test anything: send and run exit 3.
type UnreachableError struct {
	URL      string // redacted
	Attempts int64
	First    string // the first transport error, "refused: dial tcp …"; "" when every attempt timed out
}

func (e *UnreachableError) Error() string {
	why := "no request was answered within its timeout"
	if e.First != "" {
		why = "the first attempt failed with " + e.First
	}
	return fmt.Sprintf("%s never answered: %d attempts, none answered (%s)", e.URL, e.Attempts, why)
}

// reachability says on the log, the moment it happens, that the
// Application cannot be reached (the first transport error, and again
// after it had answered), so that a wrong URL does not wait for the
// report; and whether any request was answered at all.
type reachability struct {
	log      io.Writer
	url      string
	attempts int64
	answered bool
	first    string
	down     bool // the last attempt failed to connect and has been said
}

// Record implements sim.Sink.
func (r *reachability) Record(rec *sim.Record) {
	r.attempts++
	switch {
	case rec.Status != 0:
		if r.down && r.log != nil {
			fmt.Fprintf(r.log, "espfctl: %s answers again\n", term.Escape(r.url))
		}
		r.answered, r.down = true, false
	case rec.Error != "" && rec.Error != espf.ErrTimeout && rec.Error != espf.ErrCanceled && !r.down:
		text := rec.ErrorText()
		if r.first == "" {
			r.first = text
		}
		r.down = true
		if r.log != nil {
			fmt.Fprintf(r.log, "espfctl: cannot reach %s: %s; the ESPF re-sends while it lasts\n", term.Escape(r.url), term.Escape(text))
		}
	}
}

// Progress implements sim.Sink.
func (r *reachability) Progress(sim.Snapshot) {}

// verdict is an *UnreachableError when requests were sent and none was
// answered.
func (r *reachability) verdict() error {
	if r.attempts == 0 || r.answered {
		return nil
	}
	return &UnreachableError{URL: r.url, Attempts: r.attempts, First: r.first}
}
