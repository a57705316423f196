package report

import (
	"fmt"

	"github.com/espfctl/espfctl/internal/term"
)

// summaryDurability is the verdict across restarts of the Application
// (--restart-cmd): each restart, then what was lost after its 200 or
// applied twice, entity by entity.
func summaryDurability(t *term.Table, s *Summary) {
	d := s.Durability
	if d == nil {
		return
	}
	pal := t.Palette()
	bad := func(n int64) string {
		if n > 0 {
			return pal.Bad(fmt.Sprint(n))
		}
		return pal.Good("0")
	}
	t.Section("Durability (--restart-cmd)")
	fmt.Fprintf(t, "restarts\t%d\n", len(d.Restarts))
	for _, r := range d.Restarts {
		again := "not answered again"
		if r.AnsweredAgainMS != nil {
			again = "answered again after " + dur(*r.AnsweredAgainMS)
		}
		t.Tagged("restart", fmt.Sprint(r.N), "at +"+dur(r.AtMS), fmt.Sprintf("exit %d", r.ExitCode), "took "+dur(r.TookMS),
			fmt.Sprintf("%d in flight", r.InFlight), again)
	}
	fmt.Fprintf(t, "acknowledged\t%d\t(lifecycle events answered 200, of the entities read back)\n", d.Acknowledged)
	fmt.Fprintf(t, "lost after 200\t%s\n", bad(d.LostAfter200))
	fmt.Fprintf(t, "applied twice\t%s\n", bad(d.AppliedTwice))
	if d.NoApplied > 0 {
		fmt.Fprintf(t, "no applied\t%d\t(entities whose state answer has no \"applied\": a double application cannot be seen)\n", d.NoApplied)
	}
	for _, e := range d.Entities {
		t.Tagged(e.Kind, esc(e.Entity), esc(e.Words))
	}
	t.More("entity", d.Truncated)
}
