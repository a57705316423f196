package journal

import (
	"context"
	"database/sql"
	"maps"
	"sync"
)

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

// committed counts a committed batch and hands its records to the
// subscribers. pruned are the statuses of the rejections deleted.
func (j *Journal) committed(batch []pending, results []result, pruned []int) {
	live := j.feed.n.Load() > 0
	var recs []Record
	if live {
		recs = make([]Record, 0, len(batch))
	}
	t := &j.tally
	t.mu.Lock()
	for i := range batch {
		r, res := &batch[i].r, &results[i]
		kind := r.Kind
		switch {
		case kind == Replay:
			t.c.Replays++
		case kind == Rejected:
			t.c.Rejected++
			t.addAnswer(r.Status, 1)
		case res.out.First:
			t.c.Events++
			t.addType(r.Type, 1)
			t.addAnswer(200, 1)
		default:
			kind = Duplicate
			t.c.Duplicates++
			t.addAnswer(200, 1)
		}
		if live {
			recs = append(recs, r.live(kind, res.id, res.out.Deliveries))
		}
	}
	for _, st := range pruned {
		t.c.Rejected--
		t.addAnswer(st, -1)
	}
	t.mu.Unlock()
	if live {
		j.feed.publish(recs)
	}
}
