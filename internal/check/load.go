package check

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
)

// all sends every shot at the same time and waits for every reply.
func (r *runner) all(ctx context.Context, shots []shot) ([]reply, error) {
	replies := make([]reply, len(shots))
	errs := make([]error, len(shots))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range shots {
		wg.Go(func() {
			<-start
			replies[i], errs[i] = r.send(ctx, s)
		})
	}
	close(start)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return replies, nil
}

func soak(ctx context.Context, r *runner) (verdict, error) {
	if r.cfg.Soak <= 0 {
		r.cur.Answer = "-"
		return verdict{grade: Skip, msg: "--soak 0: not run"}, nil
	}
	n := max(1, int(r.cfg.Soak.Seconds()*SoakRate))
	shots := make([]shot, n)
	for i := range shots {
		s, err := r.event("Subscriber/Created", false)
		if err != nil {
			return verdict{}, err
		}
		shots[i] = s
	}
	r.cur.IEvent = shots[0].ievent
	replies := make([]reply, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	begin := time.Now()
	tick := time.NewTimer(0)
	defer tick.Stop()
	for i := range shots {
		tick.Reset(time.Until(begin.Add(time.Duration(i) * time.Second / SoakRate)))
		select {
		case <-tick.C:
		case <-ctx.Done():
			wg.Wait()
			return verdict{}, ctx.Err()
		}
		wg.Go(func() { replies[i], errs[i] = r.send(ctx, shots[i]) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return verdict{}, err
	}
	for _, err := range errs {
		if err != nil {
			return verdict{}, err
		}
	}
	return r.settled(ctx, r.gradeLoad(replies, shots, "soak", Fail), replies)
}

// settled waits, after a load in which some events were not answered
// 200, until the
// Application answers a valid event again, so that the backlog the load
// left behind grades no later case: valid events one after the other,
// until one gets an HTTP answer, for at most three times --timeout. When none
// gets one, the Application died under the load and the run stops.
func (r *runner) settled(ctx context.Context, v verdict, replies []reply) (verdict, error) {
	if tally(replies).ok == len(replies) {
		return v, nil
	}
	start := time.Now()
	for {
		p, _, err := r.probe(ctx)
		if err != nil {
			return v, err
		}
		took := time.Since(start)
		switch {
		case p.class == "":
			if took > r.cfg.Slow {
				v.msg += fmt.Sprintf("; after it, a valid event waited %s for an answer", took.Round(time.Millisecond))
			}
			return v, nil
		case p.class != espf.ErrTimeout:
			r.dead, v.grade = r.cur.ID, Fail
			v.msg += fmt.Sprintf("; after it, the Application stopped answering (a valid event: %s): it died under the load", p.text(r.cfg.Timeout))
			return v, nil
		case took >= 3*r.cfg.Timeout:
			v.msg += fmt.Sprintf("; after it, valid events got no answer for %s", took.Round(time.Millisecond))
			return v, nil
		}
	}
}

// p99 is the nearest-rank 99th percentile of the replies' latencies.
func p99(replies []reply) time.Duration { return percentile(replies, 99) }

// p100 is the slowest reply's latency.
func p100(replies []reply) time.Duration { return percentile(replies, 100) }

func percentile(replies []reply, p int) time.Duration {
	if len(replies) == 0 {
		return 0
	}
	ds := make([]time.Duration, len(replies))
	for i, a := range replies {
		ds[i] = a.took
	}
	slices.Sort(ds)
	k := (p*len(ds)+99)/100 - 1
	return ds[min(max(k, 0), len(ds)-1)]
}

// counted is a tally of many replies.
type counted struct {
	ok      int            // answered exactly 200
	by      map[string]int // answer → count ("200", "500", "timeout")
	worst   reply          // the reply that decides the consequence
	worstAt int
}

// tally counts replies; the worst is a 429 if there is one (it loses
// events), then a failure to answer, then any other non-200.
func tally(replies []reply) counted {
	t := counted{by: map[string]int{}, worstAt: -1}
	rank := func(a reply) int {
		switch {
		case limited(a):
			return 4
		case a.class != "":
			return 3
		case a.outcome() == espf.Dropped:
			return 2
		case a.outcome() != espf.Delivered:
			return 1
		}
		return 0
	}
	for i, a := range replies {
		key := a.class
		if key == "" {
			key = fmt.Sprint(a.status)
		}
		t.by[key]++
		if a.outcome() == espf.Delivered {
			t.ok++
		}
		if t.worstAt < 0 || rank(a) > rank(t.worst) {
			t.worst, t.worstAt = a, i
		}
	}
	if t.worstAt < 0 {
		t.worstAt = 0
	}
	return t
}

// text is "98×200, 2×500", most frequent first.
func (t counted) text() string {
	keys := make([]string, 0, len(t.by))
	for k := range t.by {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(t.by[b], t.by[a]), cmp.Compare(a, b))
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d×%s", t.by[k], k)
	}
	return strings.Join(parts, ", ")
}

func (t counted) says(r *runner, what string) string {
	if limited(t.worst) {
		return rateLimited(what)
	}
	return r.says(t.worst, what)
}
