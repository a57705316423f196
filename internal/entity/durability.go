package entity

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Restart is one run of the restart command (send and check
// --restart-cmd): when it started, how it ended, and how long the
// Application took to answer again.
type Restart struct {
	N        int       `json:"n"`     // 1 for the first
	At       time.Time `json:"at"`    // when the command started
	AtMS     float64   `json:"at_ms"` // since the run's start
	TookMS   float64   `json:"took_ms"`
	ExitCode int       `json:"exit_code"`
	InFlight int64     `json:"in_flight"` // requests in flight when it started
	// AnsweredAgainMS is the time from the command's start to the first
	// answer to a request sent after the command ended; nil when no
	// request was answered after it.
	AnsweredAgainMS *float64 `json:"answered_again_ms,omitempty"`
	Output          string   `json:"output,omitempty"` // the command's output (stdout and stderr), its end kept
}

// End is when the command ended.
func (r Restart) End() time.Time {
	return r.At.Add(time.Duration(r.TookMS * float64(time.Millisecond)))
}

// Trace is what the sender saw of one event: when its first attempt went
// out, and every 200 it got (its delivery, and a duplicate's).
type Trace struct {
	FirstSent time.Time
	OK        []time.Time // the answers 200, in time order
}

// Acked is when the event was first answered 200; ok is false when it
// never was.
func (t *Trace) Acked() (time.Time, bool) {
	if t == nil || len(t.OK) == 0 {
		return time.Time{}, false
	}
	return t.OK[0], true
}

// Probe is one entity read back after the drain: its expectation and what
// the state URL answered.
type Probe struct {
	Exp        Expectation
	Got        State
	HasIEvent  bool
	Applied    int64
	HasApplied bool
}

// Durability is the verdict of a run with restarts: every event answered
// 200 is applied (the final state shows it), none is applied twice (the
// state answer's "applied" is not greater than the entity's distinct
// delivered events).
type Durability struct {
	Restarts     []Restart `json:"restarts"`
	Acknowledged int64     `json:"acknowledged"`   // lifecycle events answered 200, of the entities read back
	LostAfter200 int64     `json:"lost_after_200"` // events answered 200 before a restart that the Application does not show
	AppliedTwice int64     `json:"applied_twice"`  // applications beyond the distinct delivered events
	// NoApplied counts the entities whose state answer had no "applied":
	// a double application cannot be seen there.
	NoApplied int64            `json:"no_applied,omitempty"`
	Entities  []DurableFailure `json:"entities"`            // the entities that failed, the first List of them
	Truncated int64            `json:"truncated,omitempty"` // failed entities not listed
}

// Failure kinds.
const (
	LostAfter200 = "lost_after_200" // an event answered 200 before a restart is missing
	AppliedTwice = "applied_twice"  // an event re-sent after a restart was applied again
	Mismatched   = "mismatch"       // the final state differs for another reason (the reorder explanations)
)

// DurableFailure is one entity that failed the durability verdict.
type DurableFailure struct {
	Entity  string  `json:"entity"`
	Kind    string  `json:"kind"`     // lost_after_200, applied_twice or mismatch
	IEvents []int64 `json:"i_events"` // the events lost, or re-sent after a restart
	Words   string  `json:"words"`
}

// Passed reports whether nothing was lost after its 200 and nothing
// applied twice.
func (d *Durability) Passed() bool { return d == nil || (d.LostAfter200 == 0 && d.AppliedTwice == 0) }

// Share is the share of acknowledged events neither lost nor applied
// twice; ok is false when none was acknowledged.
func (d *Durability) Share() (float64, bool) {
	if d == nil || d.Acknowledged == 0 {
		return 0, false
	}
	return max(0, float64(d.Acknowledged-d.LostAfter200-d.AppliedTwice)) / float64(d.Acknowledged), true
}

// Failure says in words what the Application lost or applied twice.
func (d *Durability) Failure() string {
	return fmt.Sprintf("durability: of %d events answered 200 across %d restarts, %d lost after their 200, %d applications too many",
		d.Acknowledged, len(d.Restarts), d.LostAfter200, d.AppliedTwice)
}

// JudgeDurability judges every entity read back (probes with a known
// expectation) against the restarts and the sender's traces, by i_event;
// start is the run's start, for the times in words; list bounds the
// entities listed (0 = 20).
func JudgeDurability(probes []Probe, traces map[int64]*Trace, restarts []Restart, start time.Time, list int) *Durability {
	if list <= 0 {
		list = 20
	}
	d := &Durability{Restarts: restarts, Entities: []DurableFailure{}}
	if d.Restarts == nil {
		d.Restarts = []Restart{}
	}
	at := func(t time.Time) string { return fmt.Sprintf("+%.2fs", t.Sub(start).Seconds()) }
	// lostBy is the restart that lost what was answered 200 at t: the
	// first that started after t, or the one running at t (the command
	// kills the Application somewhere in its run).
	lostBy := func(t time.Time) (Restart, bool) {
		for _, r := range restarts {
			if r.At.After(t) {
				return r, true
			}
		}
		for _, r := range restarts {
			if !t.Before(r.At) && !t.After(r.End()) {
				return r, true
			}
		}
		return Restart{}, false
	}
	ran := func(r Restart) string { return fmt.Sprintf("restart %d ran %s to %s", r.N, at(r.At), at(r.End())) }
	probes = slices.Clone(probes)
	slices.SortFunc(probes, func(a, b Probe) int { return CompareKeys(a.Exp.Key, b.Exp.Key) })
	var failed []DurableFailure
	for _, p := range probes {
		e := p.Exp
		if !e.Known {
			continue
		}
		d.Acknowledged += int64(len(e.Delivered))
		if !p.HasApplied {
			d.NoApplied++
		}
		if !e.Matches(p.Got, p.HasIEvent) {
			f := DurableFailure{Entity: e.Key.String(), Kind: Mismatched, IEvents: []int64{}, Words: e.Explain(p.Got, p.HasIEvent)}
			var lost []string
			for _, s := range missing(e, p) {
				ack, ok := traces[s.IEvent].Acked()
				if !ok {
					continue
				}
				r, ok := lostBy(ack)
				if !ok {
					continue
				}
				f.IEvents = append(f.IEvents, s.IEvent)
				lost = append(lost, fmt.Sprintf("%s %d answered 200 at %s, %s", s.Action, s.IEvent, at(ack), ran(r)))
			}
			if len(f.IEvents) > 0 {
				f.Kind = LostAfter200
				d.LostAfter200 += int64(len(f.IEvents))
				f.Words = "lost after 200: " + strings.Join(lost, "; ") + ": the Application shows it " + shows(p.Got, p.HasIEvent) + ", expected " + e.Want.Words()
			}
			failed = append(failed, f)
			continue
		}
		if n := int64(len(e.Delivered)); p.HasApplied && p.Applied > n {
			f := DurableFailure{Entity: e.Key.String(), Kind: AppliedTwice, IEvents: []int64{}}
			d.AppliedTwice += p.Applied - n
			var again []string
			for _, s := range e.Delivered {
				tr := traces[s.IEvent]
				if tr == nil {
					continue
				}
				for _, r := range restarts {
					if !tr.FirstSent.Before(r.End()) {
						continue
					}
					if slices.ContainsFunc(tr.OK, func(t time.Time) bool { return t.After(r.At) }) {
						f.IEvents = append(f.IEvents, s.IEvent)
						oks := make([]string, len(tr.OK))
						for i, t := range tr.OK {
							oks[i] = at(t)
						}
						again = append(again, fmt.Sprintf("%s %d first sent at %s, answered 200 at %s, %s",
							s.Action, s.IEvent, at(tr.FirstSent), strings.Join(oks, " and "), ran(r)))
						break
					}
				}
			}
			f.Words = fmt.Sprintf("applied twice: the Application applied %d events to it, %d distinct were delivered", p.Applied, n)
			if len(again) > 0 {
				f.Words += "; sent across a restart: " + strings.Join(again, "; ")
			}
			failed = append(failed, f)
		}
	}
	if len(failed) > list {
		d.Truncated = int64(len(failed) - list)
		failed = failed[:list]
	}
	d.Entities = append(d.Entities, failed...)
	return d
}

// missing is the delivered events the Application does not show: those
// newer than the i_event it answered, or, without one, the event its
// expected state comes from.
func missing(e Expectation, p Probe) []Step {
	var out []Step
	for _, s := range e.Delivered {
		switch {
		case p.HasIEvent && s.IEvent > p.Got.IEvent:
			out = append(out, s)
		case !p.HasIEvent && s.IEvent == e.Want.IEvent:
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Step) int { return int(a.IEvent - b.IEvent) })
	return out
}

// shows is a state answer in words.
func shows(got State, hasIEvent bool) string {
	switch {
	case got.Exists && hasIEvent:
		return fmt.Sprintf("existing (i_event %d)", got.IEvent)
	case got.Exists:
		return "existing"
	case hasIEvent && got.IEvent > 0:
		return fmt.Sprintf("deleted (i_event %d)", got.IEvent)
	}
	return "absent"
}

// CompareKeys orders entities by group, then id, numeric ids in numeric
// order: the order of reports.
func CompareKeys(a, b Key) int {
	if c := strings.Compare(string(a.Group), string(b.Group)); c != 0 {
		return c
	}
	if len(a.ID) != len(b.ID) {
		return len(a.ID) - len(b.ID)
	}
	return strings.Compare(a.ID, b.ID)
}
