package check

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sign"
)

// stateSection is the lifecycle cases that read the entity back from the
// Application's state URL (--state-url): contract §7, each history sent out
// of order as re-sends and asynchronous sending deliver it.
const stateSection = "7.state"

// lifecycleStep is one event of a case's history: its action and its
// i_event's offset from the case's first number (the order they are
// emitted in is the order of the offsets; the order they are sent in is
// the order of the steps).
type lifecycleStep struct {
	action entity.Action
	offset int64
}

// WithoutState leaves out the cases that read the state URL, for a run
// without one, unless args name their section or one of them (they are then
// run and skipped, saying why).
func WithoutState(cases []Case, args []string) []Case {
	for _, a := range args {
		for _, p := range strings.Split(a, ",") {
			if p = strings.TrimSpace(p); p == stateSection || strings.HasPrefix(p, stateSection+"/") {
				return cases
			}
		}
	}
	return slices.DeleteFunc(slices.Clone(cases), func(c Case) bool { return c.Section == stateSection })
}

func stateCases() []Case {
	const passes = "200 to every event; then the state URL shows what the events applied in i_event order say"
	return []Case{
		{ID: stateSection + "/updated-before-created", Section: stateSection,
			Sends:  "Subscriber/Updated (i_event N+1), then its Created (N), then GET the state URL",
			Passes: passes + ": the account exists (at N+1)",
			Why:    "an Updated can overtake its Created: an Application that applies the late Created as if new loses the update",
			run:    lifecycleCase(lifecycleStep{entity.Updated, 1}, lifecycleStep{entity.Created, 0})},
		{ID: stateSection + "/created-after-deleted", Section: stateSection,
			Sends:  "Subscriber/Created (N), its Deleted (N+1), the same Created again (a late re-send), then GET the state URL",
			Passes: passes + ": the account is deleted (404, or exists false at N+1)",
			Why:    "a re-sent Created can arrive after the entity's Deleted: an Application that applies events in arrival order holds an entity PortaBilling deleted",
			run:    lifecycleCase(lifecycleStep{entity.Created, 0}, lifecycleStep{entity.Deleted, 1}, lifecycleStep{entity.Created, 0})},
		{ID: stateSection + "/updated-after-deleted", Section: stateSection,
			Sends:  "Subscriber/Created (N), its Deleted (N+2), then an Updated emitted before the Deleted (N+1), then GET the state URL",
			Passes: passes + ": the account is deleted (404, or exists false at N+2)",
			Why:    "an Updated re-sent after the entity's Deleted must not bring it back",
			run:    lifecycleCase(lifecycleStep{entity.Created, 0}, lifecycleStep{entity.Deleted, 2}, lifecycleStep{entity.Updated, 1})},
	}
}

// lifecycleCase sends one account's history in the steps' order, then
// reads the account back and compares it with the delivered events applied
// in i_event order (design b of contract §7). Without --state-url it is
// skipped.
func lifecycleCase(steps ...lifecycleStep) func(context.Context, *runner) (verdict, error) {
	return func(ctx context.Context, r *runner) (verdict, error) {
		if r.cfg.StateURL == "" {
			return verdict{grade: Skip, msg: "needs --state-url: where the Application shows an entity's state"}, nil
		}
		base := r.ids(3)
		acct := strconv.FormatInt(base, 10)
		key := entity.Key{Group: entity.Subscriber, ID: acct}
		r.cur.IEvent = base
		tr := entity.NewTracker(true)
		var shots []shot
		for _, st := range steps {
			body, err := r.generate("Subscriber/"+st.action.String(), base+st.offset, base, false)
			if err != nil {
				return verdict{}, err
			}
			shots = append(shots, shot{ievent: base + st.offset, body: body, cred: r.creds.right})
		}
		rep := replay(shots...)
		seen := map[int64]bool{}
		for i, st := range steps {
			a, err := r.send(ctx, shots[i])
			if err != nil {
				return verdict{}, err
			}
			r.answer(r.cur, a)
			n := base + st.offset
			if !seen[n] {
				tr.Emitted(key, st.action, n, false)
				seen[n] = true
			}
			switch a.outcome() {
			case espf.Delivered:
				tr.Delivered(key, st.action, n, 1+boolInt(i > 0 && repeats(steps[:i], st)))
			case espf.Dropped:
				// dropped for good: not part of the expected state
			default:
				_, msg := mustDeliver("the event is")(r, a)
				return verdict{grade: Fail, repro: rep, msg: fmt.Sprintf("%s %d: %s", st.action, n, msg)}, nil
			}
		}
		exps := tr.Expectations()
		if len(exps) == 0 || exps[0].Want.IEvent == 0 {
			return verdict{grade: Fail, repro: rep, msg: "no event of the history was delivered: nothing to compare"}, nil
		}
		e := exps[0]
		auth, err := sign.New(r.creds.cfg)
		if err != nil {
			return verdict{}, err
		}
		ans := espf.ReadState(ctx, r.client, r.cfg.StateURL, key, auth, r.cfg.Headers, r.cfg.Timeout)
		r.mu.Lock()
		r.cur.Requests++
		r.mu.Unlock()
		switch {
		case ans.Unusable != "":
			return verdict{grade: Fail, repro: rep, msg: ans.Words()}, nil
		case !e.Matches(ans.State, ans.HasIEvent):
			return verdict{grade: Fail, repro: rep, msg: e.Explain(ans.State, ans.HasIEvent)}, nil
		}
		return verdict{grade: Pass, msg: "the state URL shows " + shows(ans) + ", as the events applied in i_event order say"}, nil
	}
}

// repeats reports whether an earlier step sent the same event (a re-send).
func repeats(earlier []lifecycleStep, st lifecycleStep) bool {
	for _, e := range earlier {
		if e == st {
			return true
		}
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func shows(a espf.StateAnswer) string {
	w := a.State.Words()
	if !a.HasIEvent {
		w, _, _ = strings.Cut(w, " (")
	}
	return w
}
