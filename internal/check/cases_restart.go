package check

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/restart"
	"github.com/espfctl/espfctl/internal/sign"
)

// The restart case's numbers.
const (
	DefaultRestartRate = 50                     // events per second in 2/restart (--rate)
	restartStream      = 2 * time.Second        // how long the stream lasts at the rate
	restartRetry       = 250 * time.Millisecond // the wait between re-sends while the Application restarts
	restartGiveUp      = 2 * time.Minute        // an event not delivered this long after its first send fails the case
)

// restartID is the case's ID; it runs with --restart-cmd only.
const restartID = "2/restart"

// WithoutRestart leaves out 2/restart for a run without --restart-cmd,
// unless args name it (it is then run and skipped, saying why).
func WithoutRestart(cases []Case, args []string) []Case {
	for _, a := range args {
		for _, p := range strings.Split(a, ",") {
			if strings.TrimSpace(p) == restartID {
				return cases
			}
		}
	}
	return slices.DeleteFunc(slices.Clone(cases), func(c Case) bool { return c.ID == restartID })
}

func restartCases() []Case {
	return []Case{{ID: restartID, Section: "2",
		Sends: fmt.Sprintf("new Subscriber/Created events at --rate (default %d/s) for %s, --restart-cmd run once in the middle while requests are in flight "+
			"(what is not answered 200 is re-sent every %s), the state URL read back; then a copy of every event answered 200 before the restart, and the state URL read again",
			DefaultRestartRate, restartStream, restartRetry),
		Passes: "every event answered 200 shows in the state URL after the restart, and its \"applied\" stays 1 after the copies",
		Why:    "a 200 removes the event from the ESPF's queue for good: an Application that answers before its work is safe loses it in a crash, and one that remembers the i_events it processed in memory applies a re-send after a restart again (contract §9)",
		run:    restartRun}}
}

// restartRun is 2/restart: one account per event, so that each event's
// fate shows in its own entity.
func restartRun(ctx context.Context, r *runner) (verdict, error) {
	if r.cfg.RestartCmd == "" || r.cfg.StateURL == "" {
		r.cur.Answer = "-"
		return verdict{grade: Skip, msg: "needs --restart-cmd (a command that kills the Application and starts it again) and --state-url"}, nil
	}
	rate := r.cfg.Rate
	if rate <= 0 {
		rate = DefaultRestartRate
	}
	n := max(20, int(rate*restartStream.Seconds()))
	base := r.ids(n)
	r.cur.IEvent = base
	shots := make([]shot, n)
	for i := range shots {
		body, err := r.generate("Subscriber/Created", base+int64(i), base+int64(i), false)
		if err != nil {
			return verdict{}, err
		}
		shots[i] = shot{ievent: base + int64(i), body: body, cred: r.creds.right}
	}
	start := time.Now()
	traces := make([]entity.Trace, n)
	final := make([]reply, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		rs       entity.Restart
		rsErr    error
		restarts sync.WaitGroup
		active   atomic.Int64 // events not answered 200 or 4xx yet
	)
	tick := time.NewTimer(0)
	defer tick.Stop()
	for i := range shots {
		tick.Reset(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		select {
		case <-tick.C:
		case <-ctx.Done():
			wg.Wait()
			restarts.Wait()
			return verdict{}, ctx.Err()
		}
		traces[i].FirstSent = time.Now()
		active.Add(1)
		wg.Go(func() {
			a, err := r.deliver(ctx, shots[i], &traces[i])
			active.Add(-1)
			mu.Lock()
			defer mu.Unlock()
			final[i] = a
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
		if i == n/2 { // the request just started is in flight
			inFlight := active.Load()
			restarts.Go(func() {
				rs, rsErr = restart.Command{Shell: r.cfg.RestartCmd}.Run(ctx, 1)
				rs.InFlight = inFlight
			})
		}
	}
	wg.Wait()
	restarts.Wait()
	if err := ctx.Err(); err != nil {
		return verdict{}, err
	}
	if rsErr != nil {
		return verdict{}, rsErr
	}
	if firstErr != nil {
		return verdict{}, firstErr
	}
	rs.AtMS = float64(rs.At.Sub(start).Microseconds()) / 1000
	for i := range traces { // the first 200 after the command ended
		for _, t := range traces[i].OK {
			if ms := float64(t.Sub(rs.At).Microseconds()) / 1000; t.After(rs.End()) && (rs.AnsweredAgainMS == nil || ms < *rs.AnsweredAgainMS) {
				rs.AnsweredAgainMS = &ms
			}
		}
	}
	for i, a := range final {
		if a.status != 200 {
			return verdict{grade: Fail, repro: replay(shots[i]), msg: fmt.Sprintf("i_event %d was never answered 200 (last: %s): nothing can be judged", shots[i].ievent, a.text(r.cfg.Timeout))}, nil
		}
	}

	// The state after the restart: every event answered 200 must show.
	probes, err := r.readBack(ctx, shots)
	if err != nil {
		return verdict{}, err
	}
	byID := map[int64]*entity.Trace{}
	for i := range traces {
		byID[shots[i].ievent] = &traces[i]
	}
	lost := entity.JudgeDurability(probes, byID, []entity.Restart{rs}, start, n)

	// A copy of every event answered 200 before the restart, now that the
	// Application runs again: none may be applied again.
	for i := range shots {
		if ack, _ := traces[i].Acked(); !ack.Before(rs.At) {
			continue
		}
		a, err := r.send(ctx, shots[i])
		if err != nil {
			return verdict{}, err
		}
		if a.status == 200 {
			traces[i].OK = append(traces[i].OK, time.Now())
		}
	}
	if probes, err = r.readBack(ctx, shots); err != nil {
		return verdict{}, err
	}
	twice := entity.JudgeDurability(probes, byID, []entity.Restart{rs}, start, n)

	var lostIDs, twiceIDs []int64
	for _, e := range lost.Entities {
		if e.Kind == entity.LostAfter200 {
			lostIDs = append(lostIDs, e.IEvents...)
		}
	}
	for _, e := range twice.Entities {
		if e.Kind == entity.AppliedTwice {
			twiceIDs = append(twiceIDs, ievents(e.Entity, base)...)
		}
	}
	r.cur.Answer = fmt.Sprintf("%d×200; restart at +%s (exit %d, %s)", n, dur(rs.AtMS), rs.ExitCode, dur(rs.TookMS))
	again := ""
	if rs.AnsweredAgainMS != nil {
		again = fmt.Sprintf(", answered again %s after its start", dur(*rs.AnsweredAgainMS))
	}
	switch {
	case len(lostIDs) > 0 || len(twiceIDs) > 0:
		var parts []string
		if len(lostIDs) > 0 {
			parts = append(parts, fmt.Sprintf("%d lost after their 200 (i_event %s)", len(lostIDs), idList(lostIDs)))
		}
		if len(twiceIDs) > 0 {
			parts = append(parts, fmt.Sprintf("%d applied twice (i_event %s)", len(twiceIDs), idList(twiceIDs)))
		}
		var first shot
		var what string
		if len(lostIDs) > 0 {
			first, what = shots[lostIDs[0]-base], "after it, the state URL does not show the event"
		} else {
			first, what = shots[twiceIDs[0]-base], "after it, a copy of the event was applied again (\"applied\" above 1)"
		}
		ack, _ := byID[first.ievent].Acked()
		script := replay(first)
		script.note = fmt.Sprintf("i_event %d was answered 200 at %s (+%s); the restart command ran at %s (+%s) for %s; %s.\n"+
			"Send it, run the restart command, send it again, then GET %s",
			first.ievent, ack.UTC().Format(time.RFC3339Nano), dur(float64(ack.Sub(start).Microseconds())/1000),
			rs.At.UTC().Format(time.RFC3339Nano), dur(rs.AtMS), dur(rs.TookMS), what,
			espf.StateURL(espf.RedactURL(r.cfg.StateURL), entity.Key{Group: entity.Subscriber, ID: strconv.FormatInt(first.ievent, 10)}))
		return verdict{grade: Fail, repro: script, msg: fmt.Sprintf("of %d events answered 200 across a restart (at +%s, %d in flight%s): %s",
			n, dur(rs.AtMS), rs.InFlight, again, strings.Join(parts, "; "))}, nil
	case twice.NoApplied > 0:
		return verdict{grade: Warn, msg: fmt.Sprintf("nothing answered 200 was lost across the restart (at +%s%s), but %d state answers had no \"applied\": a double application cannot be seen", dur(rs.AtMS), again, twice.NoApplied)}, nil
	}
	return verdict{grade: Pass, msg: fmt.Sprintf("all %d events answered 200 show after the restart (at +%s%s), and none was applied again by its copy", n, dur(rs.AtMS), again)}, nil
}

// deliver sends s until it is answered 200 or 4xx, as the ESPF does
// through a restart: re-sent every restartRetry, for at most
// restartGiveUp. Every 200 goes into tr.
func (r *runner) deliver(ctx context.Context, s shot, tr *entity.Trace) (reply, error) {
	first := time.Now()
	for {
		a, err := r.send(ctx, s)
		if err != nil {
			return a, err
		}
		if a.status == 200 {
			tr.OK = append(tr.OK, time.Now())
		}
		if a.outcome() != espf.Resent || time.Since(first) > restartGiveUp {
			return a, nil
		}
		t := time.NewTimer(restartRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return a, ctx.Err()
		case <-t.C:
		}
	}
}

// readBack reads every shot's account from the state URL.
func (r *runner) readBack(ctx context.Context, shots []shot) ([]entity.Probe, error) {
	auth, err := sign.New(r.creds.cfg)
	if err != nil {
		return nil, err
	}
	out := make([]entity.Probe, len(shots))
	for i, s := range shots {
		k := entity.Key{Group: entity.Subscriber, ID: strconv.FormatInt(s.ievent, 10)}
		ans := espf.ReadState(ctx, r.client, r.cfg.StateURL, k, auth, r.cfg.Headers, r.cfg.Timeout)
		r.mu.Lock()
		r.cur.Requests++
		r.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if ans.Unusable != "" {
			return nil, fmt.Errorf("read %s back: %s", k, ans.Words())
		}
		out[i] = entity.Probe{Exp: entity.Expectation{Key: k, Known: true, Want: entity.State{IEvent: s.ievent, Exists: true},
			Delivered: []entity.Step{{IEvent: s.ievent, Action: entity.Created}}},
			Got: ans.State, HasIEvent: ans.HasIEvent, Applied: ans.Applied, HasApplied: ans.HasApplied}
	}
	return out, nil
}

// ievents is the i_event of an entity of the case: its account id is its
// i_event.
func ievents(ent string, base int64) []int64 {
	_, id, _ := strings.Cut(ent, "/")
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < base {
		return nil
	}
	return []int64{n}
}

// idList is at most 10 i_events, then how many more.
func idList(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i == 10 {
			fmt.Fprintf(&b, " and %d more", len(ids)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

// dur is milliseconds for people: 950ms, 1.25s.
func dur(ms float64) string {
	if ms < 1000 {
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	}
	return strconv.FormatFloat(ms/1000, 'f', 2, 64) + "s"
}
