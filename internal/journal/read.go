package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// The read API: Page reads one page of the listing, Each walks it (a page
// at a time, so memory stays bounded by one page whatever the journal's
// size, and fn may block without holding the database), Get reads one
// record whole.

// ErrNotFound is returned for a record that is not (or no longer) in the
// journal.
var ErrNotFound = errors.New("no such delivery in the journal")

// eachPage and pageBytes bound one page Each reads from the database: it
// holds at most one page in memory and no read transaction while it hands
// the page on, however slowly its reader takes it.
const (
	eachPage  = 256
	pageBytes = 1 << 20
)

// errPageFull stops a page's scan early.
var errPageFull = errors.New("page full")

// fetch reads the records q selects past cur (older, or newer when newer;
// from the newest, or the oldest, without one), nearest first, at most
// limit of them, merged from every source; more reports whether there are
// more past them. With q.Capture a source stops at pageBytes: the page
// then ends where the nearest such source stopped.
func (j *Journal) fetch(ctx context.Context, q *Query, cur *Cursor, newer bool, limit int) (recs []Record, more bool, err error) {
	var frontier *Cursor // the nearest place a source stopped before its end
	for _, s := range j.sources() {
		sq, args, ok := s.query(q, cur, newer, limit+1)
		if !ok {
			continue
		}
		n, size, full := 0, 0, false
		err := j.query(ctx, sq, args, func(r *sql.Rows) error {
			if q.Capture && size > pageBytes {
				full = true
				return errPageFull
			}
			x, sz, err := scanRecord(r, s.kind, q.Capture)
			if err != nil {
				return err
			}
			n, size = n+1, size+sz
			recs = append(recs, x)
			return nil
		})
		if err != nil && !errors.Is(err, errPageFull) {
			return nil, false, err
		}
		if full || n > limit {
			last := q.key(&recs[len(recs)-1])
			if frontier == nil || nearer(last, *frontier, newer) {
				frontier = &last
			}
		}
	}
	slices.SortFunc(recs, func(a, b Record) int {
		if newer {
			return q.key(&a).compare(q.key(&b))
		}
		return q.key(&b).compare(q.key(&a))
	})
	if frontier != nil {
		end := len(recs)
		for end > 0 && nearer(*frontier, q.key(&recs[end-1]), newer) {
			end--
		}
		recs = recs[:end]
	}
	more = frontier != nil || len(recs) > limit
	return recs[:min(len(recs), limit)], more, nil
}

// nearer reports whether a comes before b going older (or newer).
func nearer(a, b Cursor, newer bool) bool {
	if newer {
		return a.compare(b) < 0
	}
	return a.compare(b) > 0
}

// Page reads one page of the listing q selects, in q's order, past
// q.Before (the older page) or else q.After (the newer page); without
// either, the first page.
func (j *Journal) Page(ctx context.Context, q Query) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	cur, newer := q.Before, false
	if cur == nil && q.After != nil {
		cur, newer = q.After, true
	}
	if cur == nil {
		newer = q.Oldest
	}
	recs, more, err := j.fetch(ctx, &q, cur, newer, limit)
	if err != nil {
		return Page{}, err
	}
	back := newer != q.Oldest // against the listing's order: fetched nearest the cursor first
	if back {
		slices.Reverse(recs)
	}
	var next, prev *Cursor // the pages further in the listing's order, and back
	switch {
	case len(recs) == 0:
		if cur != nil && !back {
			prev = cur // past the end: the way back
		}
	case back:
		last := q.key(&recs[len(recs)-1])
		next = &last
		if more {
			first := q.key(&recs[0])
			prev = &first
		}
	default:
		if more {
			last := q.key(&recs[len(recs)-1])
			next = &last
		}
		if cur != nil {
			first := q.key(&recs[0])
			prev = &first
		}
	}
	p := Page{Records: recs, Older: next, Newer: prev}
	if q.Oldest {
		p.Older, p.Newer = prev, next
	}
	return p, nil
}

// Each calls fn for each record q selects, in q's order, within q.Before
// and q.After, at most q.Limit of them (0: all), only the last q.Tail (0:
// all). It reads a page at a time: records written while it reads are
// listed when they fall past its place (oldest first), never otherwise.
// An error from fn stops it and is returned.
func (j *Journal) Each(ctx context.Context, q Query, fn func(*Record) error) error {
	newer := q.Oldest
	cur, stop := q.Before, q.After
	if newer {
		cur, stop = q.After, q.Before
	}
	left := q.Limit
	if q.Tail > 0 {
		start, err := j.tailStart(ctx, q)
		if err != nil {
			return err
		}
		if start != nil {
			cur = start
		}
		if left <= 0 || q.Tail < left {
			left = q.Tail
		}
	}
	for {
		want := eachPage
		if left > 0 {
			want = min(want, left)
		}
		recs, more, err := j.fetch(ctx, &q, cur, newer, want)
		if err != nil {
			return err
		}
		for i := range recs {
			if stop != nil && !nearer(q.key(&recs[i]), *stop, newer) {
				return nil
			}
			if err := fn(&recs[i]); err != nil {
				return err
			}
		}
		if left > 0 {
			if left -= len(recs); left <= 0 {
				return nil
			}
		}
		if !more || len(recs) == 0 {
			return nil
		}
		c := q.key(&recs[len(recs)-1])
		cur = &c
	}
}

// tailStart is where Each starts to list the last q.Tail records: just
// before the Tail-th from the end, or nil when there are no more than
// Tail.
func (j *Journal) tailStart(ctx context.Context, q Query) (*Cursor, error) {
	back := q
	back.Oldest, back.Tail, back.Limit, back.Capture = !q.Oldest, 0, q.Tail, false
	var last Cursor
	n := 0
	err := j.Each(ctx, back, func(r *Record) error {
		last, n = back.key(r), n+1
		return nil
	})
	if err != nil || n < q.Tail {
		return nil, err
	}
	// Cursors are integers: the place just before last is last's id one
	// step back.
	if q.Oldest {
		last.ID--
	} else {
		last.ID++
	}
	return &last, nil
}

// Get reads one record with its raw capture.
func (j *Journal) Get(ctx context.Context, kind Kind, id int64) (*Record, error) {
	for _, s := range j.sources() {
		if s.kind != kind {
			continue
		}
		q := "SELECT " + s.selectList(true) + " FROM " + s.table + " WHERE " + s.id + " = ?"
		if s.where != "" {
			q += " AND " + s.where
		}
		var out *Record
		err := j.query(ctx, q, []any{id}, func(r *sql.Rows) error {
			x, _, err := scanRecord(r, kind, true)
			out = &x
			return err
		})
		if err != nil {
			return nil, err
		}
		if out != nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s/%d: %w", kind, id, ErrNotFound)
}

// Attempts lists every record of one i_event, oldest first, at most
// MaxLimit of each kind: its rejections, its first delivery, its
// duplicates and its replays.
func (j *Journal) Attempts(ctx context.Context, iEvent int64) ([]Record, error) {
	var out []Record
	for _, k := range Kinds() {
		p, err := j.Page(ctx, Query{Kinds: []Kind{k}, IEvent: &iEvent, Oldest: true, Limit: MaxLimit})
		if err != nil {
			return nil, err
		}
		out = append(out, p.Records...)
	}
	slices.SortFunc(out, func(a, b Record) int { return a.Cursor().compare(b.Cursor()) })
	return out, nil
}
