package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/verify"
)

// summaryOrder is how often an entity's events were delivered out of
// order, by kind.
func summaryOrder(t *term.Table, s *Summary) {
	r := s.Reordered
	if r == nil {
		return
	}
	t.Section("Order (entity lifecycles)")
	fmt.Fprintf(t, "reordered entities\t%d\n", r.Entities)
	fmt.Fprintf(t, "reordered events\t%d\n", r.Events)
	for _, k := range reorderedKinds(r) {
		t.Tagged("reordered", k.Words, fmt.Sprint(k.Events))
	}
}

// Bursts are the customer changes that PortaBilling sends on to every
// account of the customer, "inherited from Customer" (contract §8): one
// event per account, queued together.
type Bursts struct {
	Count    int64   `json:"count"`
	Events   int64   `json:"events"`  // inherited account events in them
	Largest  int     `json:"largest"` // accounts in the largest burst
	List     []Burst `json:"list,omitempty"`
	Unlisted int64   `json:"unlisted,omitempty"` // bursts past the list
}

// Burst is one customer change that reached its accounts at once.
type Burst struct {
	Customer string `json:"customer"` // "customer/1000003"
	IEvent   int64  `json:"i_event"`  // the customer change's
	Accounts int    `json:"accounts"`
}

// maxBursts bounds the bursts listed by name.
const maxBursts = 20

// AddBurst counts one burst; nil-safe only in that it is called on a
// value the caller made.
func (b *Bursts) AddBurst(customer string, iEvent int64, accounts int) {
	b.Count++
	b.Events += int64(accounts)
	b.Largest = max(b.Largest, accounts)
	if len(b.List) < maxBursts {
		b.List = append(b.List, Burst{Customer: customer, IEvent: iEvent, Accounts: accounts})
	} else {
		b.Unlisted++
	}
}

// summaryShape is what a lifecycle's events were made of: internal event
// names, and customer changes sent on to their accounts as bursts.
func summaryShape(t *term.Table, s *Summary) {
	if s.InternalEvents == 0 && s.Bursts == nil {
		return
	}
	t.Section("Event shape (contract §8)")
	fmt.Fprintf(t, "internal events\t%d\t(names of three parts, e.g. Account/AccessPolicy/Changed)\n", s.InternalEvents)
	if b := s.Bursts; b != nil {
		fmt.Fprintf(t, "bursts\t%d\t(%d inherited account events, the largest to %s)\n", b.Count, b.Events, plural(b.Largest, "account"))
		for _, x := range b.List {
			t.Tagged("burst", esc(x.Customer), fmt.Sprintf("i_event %d", x.IEvent), plural(x.Accounts, "account"))
		}
		t.More("burst", b.Unlisted)
	}
}

// kindCount is how many events were reordered one way, in words.
type kindCount struct {
	Words  string
	Events int64
}

// reorderedKinds are the kinds of reordering that happened, in report
// order (entity.Kinds), as the text and HTML reports list them.
func reorderedKinds(r *entity.Reordered) []kindCount {
	var out []kindCount
	for _, k := range entity.Kinds {
		if n := r.ByKind[k]; n > 0 {
			out = append(out, kindCount{Words: k.Words(), Events: n})
		}
	}
	return out
}

// summaryFinalState is the final-state check: every entity read back from
// the Application after the drain.
func summaryFinalState(t *term.Table, s *Summary) {
	f := s.FinalState
	if f == nil {
		return
	}
	pal := t.Palette()
	bad := func(n int64) string {
		if n > 0 {
			return pal.Bad(fmt.Sprint(n))
		}
		return "0"
	}
	t.Section("Final state (--state-url)")
	fmt.Fprintf(t, "checked\t%d\n", f.Checked)
	fmt.Fprintf(t, "match\t%s\n", pal.Good(fmt.Sprint(f.Match)))
	fmt.Fprintf(t, "mismatch\t%s\n", bad(f.Mismatch))
	if f.Errors > 0 {
		fmt.Fprintf(t, "unreadable\t%s\n", bad(f.Errors))
	}
	fmt.Fprintf(t, "unknown\t%d\t(an event pending, given up or dropped: not compared)\n", f.Unknown)
	for _, m := range f.Mismatches {
		t.Tagged("mismatch", esc(m.Entity), esc(m.Words))
	}
	t.More("mismatch", f.Truncated)
}

// summaryAPICalls is how often the Application called each method of the
// PortaBilling API mock.
func summaryAPICalls(t *term.Table, s *Summary) {
	if len(s.APICalls) == 0 {
		return
	}
	t.Section("PortaBilling API mock (calls)", "calls", "faults")
	for _, c := range s.APICalls {
		faults := "0"
		if c.Faults > 0 {
			faults = t.Palette().Bad(fmt.Sprint(c.Faults))
		}
		t.Tagged("api", esc(c.Method), fmt.Sprint(c.Calls), faults)
	}
	if s.APIEntities > 0 {
		fmt.Fprintf(t, "entities held\t%d\n", s.APIEntities)
	}
}

// EntityStates lists serve's entity table (journal --entities): entity,
// state, last i_event applied.
func EntityStates(w io.Writer, list []verify.EntityState, lay term.Layout) error {
	t := lay.Table(w)
	t.Heading("entity", "state", "i_event")
	for _, e := range list {
		state := "existing"
		if !e.Exists {
			state = "deleted"
		}
		t.Row(esc(e.Entity), state, fmt.Sprint(e.IEvent))
	}
	return t.Flush()
}

// plural is "1 account", "3 accounts".
func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

// EntityStatesJSON writes serve's entity table as JSON lines (journal
// --entities --json): schema_version (the journal's lines' version),
// entity, i_event, exists.
func EntityStatesJSON(w io.Writer, list []verify.EntityState) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, e := range list {
		line := struct {
			SchemaVersion int `json:"schema_version"`
			verify.EntityState
		}{journal.SchemaVersion, e}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}
