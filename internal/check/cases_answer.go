package check

import (
	"context"
	"fmt"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
)

// answerCases are contract §2: exactly 200, the same event more than once,
// and many events at once.
func answerCases() []Case {
	return []Case{
		{ID: "2/exact-200", Section: "2",
			Sends:  `the documented example, exactly: {"event_type": "Subscriber/Created", "variables": {"i_account": <n>, "i_event": <n>}}, correctly signed`,
			Passes: "exactly 200",
			Why:    "only exactly 200 delivers: 201, 202 and 204 make the ESPF re-send the event for ever, any 4xx drops it",
			run: single(func(r *runner) (shot, error) {
				id := r.ids(1)
				body, err := (&event.Event{Type: "Subscriber/Created", Variables: map[string]any{"i_account": id, "i_event": id}}).Marshal()
				return shot{ievent: id, body: body, cred: r.creds.right}, err
			}, mustDeliver("the documented example event is")),
		},
		{ID: "2/body-after-pause", Section: "2",
			Sends:  fmt.Sprintf("a valid Subscriber/Created whose headers go at once and whose body follows %s later, as over a slow network", BodyPause),
			Passes: "exactly 200, answered after the body arrived (the pause is a third of --timeout when that is shorter)",
			Why:    "the ESPF removes the event when the 200 arrives: an Application that answers before it has read the body (a handler that answers first and works later) has not done the work, and the event is lost if the work then fails",
			run:    bodyAfterPause},
		{ID: "2/duplicate", Section: "2",
			Sends:  "a new event, then the same event again (same body and i_event, fresh Date and signature)",
			Passes: "200 both times",
			Why:    "the ESPF re-sends an event whose 200 it did not get: an Application must answer 200 again without repeating the work",
			run:    duplicate},
		{ID: "2/duplicate-concurrent", Section: "2",
			Sends:  "--copies copies (default 10) of one new event at the same time",
			Passes: "every copy answered 200",
			Why:    "re-sends overlap a slow first attempt: two copies of one event at once must not make one of them fail (a unique-key error answered 500 is re-sent for ever)",
			run:    concurrentCopies},
		{ID: "2/burst", Section: "2",
			Sends:  "100 distinct new events at the same time",
			Passes: "every one answered 200 (no 5xx, reset or timeout); a p99 above --slow warns",
			Why:    "the ESPF sends asynchronously and catches up after an outage in bursts: what fails under load is re-sent, what is answered 429 is dropped",
			run:    burst},
		{ID: "2/soak", Section: "2",
			Sends:  fmt.Sprintf("new events at %d/s for --soak (default 20s; 0 skips it)", SoakRate),
			Passes: "every one answered 200, p99 under --slow",
			Why:    "the ESPF's steady pace is about 10 events per second: an Application that slows down or fails as it runs falls behind for good",
			run:    soak},
	}
}

// bodyAfterPause sends a valid event's headers, then its body after
// BodyPause (a third of --timeout when that is shorter): a 200 that comes
// before the body was sent fails. Any other answer is graded as usual
// (refusing from the headers alone, a 401 or a 429, is no bug of this kind).
func bodyAfterPause(ctx context.Context, r *runner) (verdict, error) {
	s, err := r.event("Subscriber/Created", false)
	if err != nil {
		return verdict{}, err
	}
	s.pause, s.valid = min(BodyPause, r.cfg.Timeout/3), false
	r.cur.IEvent = s.ievent
	a, err := r.send(ctx, s)
	if err != nil {
		return verdict{}, err
	}
	r.answer(r.cur, a)
	if a.early && a.outcome() == espf.Delivered {
		return verdict{grade: Fail, repro: replay(s), msg: fmt.Sprintf("answered 200 before the body arrived (it came %s after the headers): "+
			"the event is removed from the ESPF queue as delivered on the headers alone; the Application cannot have read, checked or applied it", s.pause)}, nil
	}
	g, msg := mustDeliver("an event whose body comes after a pause is")(r, a)
	return verdict{grade: g, msg: msg, repro: replay(s)}, nil
}

func duplicate(ctx context.Context, r *runner) (verdict, error) {
	s, err := r.event("Subscriber/Created", false)
	if err != nil {
		return verdict{}, err
	}
	r.cur.IEvent = s.ievent
	first, err := r.send(ctx, s)
	if err != nil {
		return verdict{}, err
	}
	rep := &script{shots: []shot{s}, repeat: 2}
	if first.outcome() != espf.Delivered || limited(first) {
		r.answer(r.cur, first)
		_, msg := mustDeliver("the event is")(r, first)
		return verdict{grade: Fail, repro: rep, msg: "the first delivery was not answered 200: " + msg}, nil
	}
	again, err := r.send(ctx, s)
	if err != nil {
		return verdict{}, err
	}
	r.answer(r.cur, again)
	g, msg := mustDeliver("a re-sent event (after a lost 200) is")(r, again)
	return verdict{grade: g, msg: msg, repro: rep}, nil
}

func concurrentCopies(ctx context.Context, r *runner) (verdict, error) {
	s, err := r.event("Subscriber/Created", false)
	if err != nil {
		return verdict{}, err
	}
	r.cur.IEvent = s.ievent
	shots := make([]shot, r.cfg.Copies)
	for i := range shots {
		shots[i] = s
	}
	replies, err := r.all(ctx, shots)
	if err != nil {
		return verdict{}, err
	}
	t := tally(replies)
	r.answer(r.cur, t.worst)
	r.cur.Answer = t.text()
	r.cur.LatencyMS = ms(p100(replies)) // the slowest copy
	rep := &script{shots: []shot{s}, repeat: r.cfg.Copies, parallel: true}
	if t.ok == len(replies) {
		return verdict{grade: Pass, msg: fmt.Sprintf("all %d copies delivered", len(replies))}, nil
	}
	return verdict{grade: Fail, repro: rep, msg: fmt.Sprintf("%d of %d copies not answered 200: %s",
		len(replies)-t.ok, len(replies), t.says(r, "each such copy is"))}, nil
}

func burst(ctx context.Context, r *runner) (verdict, error) {
	shots := make([]shot, r.cfg.Burst)
	for i := range shots {
		s, err := r.event("Subscriber/Created", false)
		if err != nil {
			return verdict{}, err
		}
		shots[i] = s
	}
	r.cur.IEvent = shots[0].ievent
	replies, err := r.all(ctx, shots)
	if err != nil {
		return verdict{}, err
	}
	return r.settled(ctx, r.gradeLoad(replies, shots, "burst", Warn), replies)
}

// gradeLoad grades many distinct events: every one must be answered 200;
// a p99 over --slow gets slowGrade.
func (r *runner) gradeLoad(replies []reply, shots []shot, what string, slowGrade Grade) verdict {
	t := tally(replies)
	r.answer(r.cur, t.worst)
	r.cur.Answer = t.text()
	p := p99(replies)
	r.cur.LatencyMS = ms(p)
	pm := ms(p)
	r.cur.P99MS = &pm
	if t.ok < len(replies) {
		return verdict{grade: Fail, repro: replay(shots[t.worstAt]), msg: fmt.Sprintf("%d of %d events not answered 200: %s",
			len(replies)-t.ok, len(replies), t.says(r, "each such event is"))}
	}
	if p > r.cfg.Slow {
		return verdict{grade: slowGrade, msg: fmt.Sprintf("all %d delivered, but the %s's p99 was %s, over --slow %s: at the ESPF's 10/s, %d requests wait at once",
			len(replies), what, p.Round(1e6), r.cfg.Slow, int(p.Seconds()*SoakRate)+1)}
	}
	return verdict{grade: Pass, msg: fmt.Sprintf("all %d delivered, p99 %s (--slow %s)", len(replies), p.Round(1e5), r.cfg.Slow)}
}
