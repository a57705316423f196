package check

import (
	"context"
	"fmt"

	"github.com/espfctl/espfctl/internal/espf"
)

const orderPasses = "200, or a 4xx (dropped); never a 5xx or a timeout"

// orderCases are contract §7: no order is promised, so events arrive for
// entities the Application never saw, or after their Deleted.
func orderCases() []Case {
	never := func(typ string) func(r *runner) (shot, error) {
		return func(r *runner) (shot, error) { return r.event(typ, false) }
	}
	const on4xx = "fine if the Application reads the entity back, or has nothing to do for it"
	return []Case{
		{ID: "7/updated-never-created", Section: "7",
			Sends:  "Subscriber/Updated for an account never Created",
			Passes: orderPasses,
			Why:    "asynchronous sending and re-sends reorder events: an Updated can arrive before its Created; a 500 makes the ESPF re-send it for ever",
			run:    single(never("Subscriber/Updated"), tolerate("the update is", on4xx))},
		{ID: "7/deleted-never-created", Section: "7",
			Sends:  "Subscriber/Deleted for an account never Created",
			Passes: orderPasses,
			Why:    "a Deleted can arrive for an entity the Application never saw (its Created was dropped, or comes later)",
			run:    single(never("Subscriber/Deleted"), tolerate("the delete is", on4xx))},
		{ID: "7/created-after-deleted", Section: "7",
			Sends:  "Subscriber/Created, its Deleted, then the same Created again (a late re-send, same i_event)",
			Passes: "200 to the first two; 200 or a 4xx to the late Created, never a 5xx or a timeout",
			Why:    "a re-sent Created can arrive after the entity's Deleted: an Application that applies events in arrival order brings the entity back",
			run:    createdAfterDeleted},
	}
}

func createdAfterDeleted(ctx context.Context, r *runner) (verdict, error) {
	ids := r.ids(2)
	created, err := r.generate("Subscriber/Created", ids, ids, false)
	if err != nil {
		return verdict{}, err
	}
	deleted, err := r.generate("Subscriber/Deleted", ids+1, ids, false)
	if err != nil {
		return verdict{}, err
	}
	c := shot{ievent: ids, body: created, cred: r.creds.right}
	d := shot{ievent: ids + 1, body: deleted, cred: r.creds.right}
	r.cur.IEvent = ids
	rep := replay(c, d, c)
	for _, step := range []struct {
		s    shot
		what string
	}{{c, "Created"}, {d, "Deleted"}} {
		a, err := r.send(ctx, step.s)
		if err != nil {
			return verdict{}, err
		}
		if a.outcome() != espf.Delivered || limited(a) {
			r.answer(r.cur, a)
			_, msg := mustDeliver("the event is")(r, a)
			return verdict{grade: Fail, repro: rep, msg: fmt.Sprintf("the %s (i_event %d) was not delivered: %s", step.what, step.s.ievent, msg)}, nil
		}
	}
	a, err := r.send(ctx, c)
	if err != nil {
		return verdict{}, err
	}
	r.answer(r.cur, a)
	g, msg := tolerate("the late Created is", "fine: the entity is gone")(r, a)
	return verdict{grade: g, msg: msg, repro: rep}, nil
}
