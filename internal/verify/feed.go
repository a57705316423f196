package verify

import (
	"context"
	"database/sql"
	"maps"
	"sync"
	"sync/atomic"
)

// A live view (serve's inspector) follows the journal through a
// Subscription: after each group commit the writer hands every subscriber
// the rows it committed, without ever waiting for one. A subscriber whose
// buffer is full is dropped (its channel closed) on the spot, so a slow
// browser costs the deliveries nothing.

// feed is the journal's set of subscribers.
type feed struct {
	n    atomic.Int32 // subscribers; the writer skips building rows at 0
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives the rows the journal commits, one slice per group
// commit, in commit order. C is closed when the subscriber fell behind by
// more than its buffer (Dropped reports it), when Close is called, or when
// the journal closes.
type Subscription struct {
	C       <-chan []Row
	c       chan []Row
	f       *feed
	dropped atomic.Bool
}

// Subscribe starts a subscription that holds up to buf commits' rows
// while its reader is busy (at least 1).
func (j *Journal) Subscribe(buf int) *Subscription {
	s := &Subscription{c: make(chan []Row, max(buf, 1)), f: &j.feed}
	s.C = s.c
	f := &j.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	if j.closedFeed() {
		close(s.c)
		return s
	}
	if f.subs == nil {
		f.subs = map[*Subscription]struct{}{}
	}
	f.subs[s] = struct{}{}
	f.n.Add(1)
	return s
}

// closedFeed reports whether the writer has ended (no more commits).
func (j *Journal) closedFeed() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// Subscribers is how many subscriptions are open.
func (j *Journal) Subscribers() int { return int(j.feed.n.Load()) }

// Dropped reports whether the subscription was closed because its reader
// fell behind.
func (s *Subscription) Dropped() bool { return s.dropped.Load() }

// Close ends the subscription; C is closed.
func (s *Subscription) Close() {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.remove(s)
}

// remove closes s if it is still subscribed; f.mu is held.
func (f *feed) remove(s *Subscription) {
	if _, ok := f.subs[s]; ok {
		delete(f.subs, s)
		close(s.c)
		f.n.Add(-1)
	}
}

// publish hands rows to every subscriber without blocking.
func (f *feed) publish(rows []Row) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		select {
		case s.c <- rows:
		default:
			s.dropped.Store(true)
			f.remove(s)
		}
	}
}

// closeAll ends every subscription (the journal closed).
func (f *feed) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		f.remove(s)
	}
}

// Counts is what the journal holds, counted as it is written: read at any
// time without a query, whatever the journal's size.
type Counts struct {
	Events     int64 `json:"events"`     // distinct i_events first delivered (answered 200)
	Duplicates int64 `json:"duplicates"` // 200 answers to an i_event already delivered
	Rejected   int64 `json:"rejected"`   // deliveries not answered 200, as kept (--max-rejected)
	Replays    int64 `json:"replays"`    // the inspector's replays to the Application
	// ByType counts the first deliveries by event_type; past maxTypes
	// distinct types the rest are counted under OtherTypes.
	ByType map[string]int64 `json:"by_type"`
	// ByAnswer counts deliveries by serve's answer: 200 (first and
	// duplicate deliveries) and the status of each rejection kept (0: none).
	ByAnswer map[int]int64 `json:"by_answer"`
}

// OtherTypes is the ByType key that counts the types past maxTypes.
const OtherTypes = "(other types)"

// maxTypes bounds ByType: a sender may make up any number of types.
const maxTypes = 256

// tally keeps Counts for a writable journal.
type tally struct {
	mu sync.Mutex
	c  Counts
}

func (t *tally) addType(typ string, n int64) {
	if _, ok := t.c.ByType[typ]; !ok && len(t.c.ByType) >= maxTypes {
		typ = OtherTypes
	}
	t.c.ByType[typ] += n
}

func (t *tally) addAnswer(status int, n int64) {
	t.c.ByAnswer[status] += n
	if t.c.ByAnswer[status] <= 0 {
		delete(t.c.ByAnswer, status)
	}
}

// Counts returns what the journal holds. A read-only journal is counted
// by a query (a full scan: slow on a large journal).
func (j *Journal) Counts(ctx context.Context) (Counts, error) {
	if j.conn == nil {
		var t Journal
		t.missing = j.missing
		if err := t.loadCounts(ctx, j.db); err != nil {
			return Counts{}, err
		}
		return t.tally.c, nil
	}
	j.tally.mu.Lock()
	defer j.tally.mu.Unlock()
	c := j.tally.c
	c.ByType, c.ByAnswer = maps.Clone(c.ByType), maps.Clone(c.ByAnswer)
	return c, nil
}

// loadCounts counts what the journal holds, once, when it is opened: a
// scan of each table (about a second for a million events).
func (j *Journal) loadCounts(ctx context.Context, q querier) error {
	t := &j.tally
	t.c = Counts{ByType: map[string]int64{}, ByAnswer: map[int]int64{}}
	scan := func(query string, fn func(*sql.Rows) error) error {
		rows, err := q.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	var delivered int64
	err := scan(`SELECT event_type, count(*), total(deliveries) FROM events GROUP BY event_type ORDER BY count(*) DESC`, func(r *sql.Rows) error {
		var typ string
		var n int64
		var sum float64
		if err := r.Scan(&typ, &n, &sum); err != nil {
			return err
		}
		t.c.Events += n
		delivered += int64(sum)
		t.addType(typ, n)
		return nil
	})
	if err != nil {
		return err
	}
	t.c.Duplicates = delivered - t.c.Events
	if delivered > 0 {
		t.c.ByAnswer[200] = delivered
	}
	err = scan(`SELECT status, count(*) FROM rejections GROUP BY status`, func(r *sql.Rows) error {
		var st int
		var n int64
		if err := r.Scan(&st, &n); err != nil {
			return err
		}
		t.c.Rejected += n
		t.addAnswer(st, n)
		return nil
	})
	if err != nil || j.missing["copies"] {
		return err
	}
	return scan(`SELECT count(*) FROM copies WHERE kind = 'replay'`, func(r *sql.Rows) error { return r.Scan(&t.c.Replays) })
}

// committed counts a committed batch and hands its rows to the
// subscribers. pruned are the statuses of the rejections deleted.
func (j *Journal) committed(batch []pending, results []result, pruned []int) {
	live := j.feed.n.Load() > 0
	var rows []Row
	if live {
		rows = make([]Row, 0, len(batch))
	}
	t := &j.tally
	t.mu.Lock()
	for i := range batch {
		e, res := &batch[i].e, &results[i]
		var kind RowKind
		switch {
		case e.Replay:
			kind = RowReplay
			t.c.Replays++
		case batch[i].done == nil:
			kind = RowRejected
			t.c.Rejected++
			t.addAnswer(e.Status, 1)
		case res.out.First:
			kind = RowFirst
			t.c.Events++
			t.addType(e.Type, 1)
			t.addAnswer(200, 1)
		default:
			kind = RowDuplicate
			t.c.Duplicates++
			t.addAnswer(200, 1)
		}
		if live {
			rows = append(rows, entryRow(e, kind, res.id, res.out.Deliveries))
		}
	}
	for _, st := range pruned {
		t.c.Rejected--
		t.addAnswer(st, -1)
	}
	t.mu.Unlock()
	if live {
		j.feed.publish(rows)
	}
}
