package journal

import (
	"context"
	"database/sql"
	"fmt"
)

// The helpers of readers that need less than a record: the i_events held
// (run's comparison with what the sender saw delivered, the fault
// injector), the journal's lifetime counts of what it did not keep, and
// its size.

// idPage is how many i_events EachIEvent reads from the database at once.
const idPage = 4096

// EachIEvent calls fn with every i_event answered 200 that the journal
// holds, in ascending order, a page at a time (fn runs without holding the
// database): a comparison with another record of the run costs one page
// of memory, not the journal's size.
func (j *Journal) EachIEvent(ctx context.Context, fn func(int64) error) error {
	page := make([]int64, 0, idPage)
	after, started := int64(0), false
	for {
		page = page[:0]
		q, args := `SELECT i_event FROM events ORDER BY i_event LIMIT ?`, []any{idPage}
		if started {
			q, args = `SELECT i_event FROM events WHERE i_event > ? ORDER BY i_event LIMIT ?`, []any{after, idPage}
		}
		err := j.query(ctx, q, args, func(r *sql.Rows) error {
			var id int64
			if err := r.Scan(&id); err != nil {
				return fmt.Errorf("read journal: %w", err)
			}
			page = append(page, id)
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range page {
			if err := fn(id); err != nil {
				return err
			}
		}
		if len(page) < idPage {
			return nil
		}
		after, started = page[len(page)-1], true
	}
}

// Has reports whether i_event was answered 200 before.
func (j *Journal) Has(ctx context.Context, iEvent int64) (bool, error) {
	found := false
	err := j.query(ctx, `SELECT 1 FROM events WHERE i_event = ?`, []any{iEvent}, func(*sql.Rows) error {
		found = true
		return nil
	})
	return found, err
}

// RejectionsDropped is how many rejections the journal did not keep, over
// its whole life (pruned beyond the limit, or not queued).
func (j *Journal) RejectionsDropped(ctx context.Context) (int64, error) {
	return j.metaCount(ctx, "rejections_dropped")
}

// CopiesDropped is how many duplicates the journal deleted beyond its
// limit, over its whole life. Their events' deliveries still count them.
func (j *Journal) CopiesDropped(ctx context.Context) (int64, error) {
	return j.metaCount(ctx, "copies_dropped")
}

// metaCount reads a count of the meta table; 0 when it has none.
func (j *Journal) metaCount(ctx context.Context, key string) (int64, error) {
	var n int64
	err := j.query(ctx, `SELECT value FROM meta WHERE key = ?`, []any{key}, func(r *sql.Rows) error {
		return r.Scan(&n)
	})
	if j.isMissingTable(err) {
		return 0, nil // a journal from before the meta table
	}
	return n, err
}

// Size is the size of the journal's database in bytes: its pages times
// the page size (for an in-memory journal, the memory its pages take).
func (j *Journal) Size(ctx context.Context) (int64, error) {
	var n int64
	err := j.query(ctx, `SELECT p.page_count * s.page_size FROM pragma_page_count() p, pragma_page_size() s`, nil,
		func(r *sql.Rows) error { return r.Scan(&n) })
	return n, err
}
