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
