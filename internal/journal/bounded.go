package journal

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// bounded is a kind of row the journal keeps a bounded number of: the
// rejections (--max-rejected) and the duplicates (--max-copies). Once the
// rows held reach keep + slack (with slack 0: pass keep), the oldest are
// deleted back down to keep in the transaction that added the last, and
// counted: in the meta table (count), over the journal's life, and in
// dropped, for this process.
type bounded struct {
	what         string // for errors: "rejections"
	keep, slack  int64
	prune, count string       // the statements: delete the oldest ? rows; add ? to the meta count
	statuses     bool         // prune returns the statuses of the rows it deletes
	rows         int64        // rows held (the writer's)
	dropped      atomic.Int64 // rows deleted, or never written, by this process
}

// due reports whether over rows past keep are to be deleted.
func (b *bounded) due(over int64) bool { return over > 0 && over >= b.slack }

// committed counts a committed transaction's rows added and deleted.
func (b *bounded) committed(added, pruned int64) {
	b.rows += added - pruned
	b.dropped.Add(pruned)
}

// prune deletes b's oldest rows past b.keep once they are b.slack past it
// (any past it with slack 0), and adds them and lost (rows never written)
// to b's persistent count. added are the rows this transaction wrote. It
// returns how many rows it deleted and, when b.statuses, their statuses.
func (j *Journal) prune(ctx context.Context, b *bounded, added, lost int64) (int64, []int, error) {
	var n int64
	var statuses []int
	over := b.rows + added - b.keep
	switch {
	case !b.due(over):
	case b.statuses:
		rows, err := j.stmts[b.prune].QueryContext(ctx, over)
		if err != nil {
			return 0, nil, fmt.Errorf("journal: prune %s: %w", b.what, err)
		}
		for rows.Next() {
			var st int
			if err := rows.Scan(&st); err != nil {
				rows.Close()
				return 0, nil, fmt.Errorf("journal: prune %s: %w", b.what, err)
			}
			statuses = append(statuses, st)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return 0, nil, fmt.Errorf("journal: prune %s: %w", b.what, err)
		}
		n = int64(len(statuses))
	default:
		res, err := j.stmts[b.prune].ExecContext(ctx, over)
		if err == nil {
			n, err = res.RowsAffected()
		}
		if err != nil {
			return 0, nil, fmt.Errorf("journal: prune %s: %w", b.what, err)
		}
	}
	if n+lost > 0 {
		if _, err := j.stmts[b.count].ExecContext(ctx, n+lost); err != nil {
			return 0, nil, fmt.Errorf("journal: count dropped %s: %w", b.what, err)
		}
	}
	return n, statuses, nil
}

// countBounded counts the rows the bounds hold.
func (j *Journal) countBounded(ctx context.Context) error {
	for _, c := range []struct {
		b *bounded
		q string
	}{{&j.rej, `SELECT count(*) FROM rejections`}, {&j.dup, `SELECT count(*) FROM copies WHERE kind = 'duplicate'`}} {
		if err := j.conn.QueryRowContext(ctx, c.q).Scan(&c.b.rows); err != nil {
			return fmt.Errorf("journal: count %s: %w", c.b.what, err)
		}
	}
	return nil
}

// pruneAtOpen cuts a journal opened with smaller bounds than it was
// written with down to them, in one transaction, before it serves.
func (j *Journal) pruneAtOpen(ctx context.Context) (err error) {
	if !j.rej.due(j.rej.rows-j.rej.keep) && !j.dup.due(j.dup.rows-j.dup.keep) {
		return nil
	}
	if _, err := j.stmts["begin"].ExecContext(ctx); err != nil {
		return fmt.Errorf("journal: begin: %w", err)
	}
	defer func() {
		if err != nil {
			j.conn.ExecContext(ctx, "ROLLBACK")
			j.countBounded(ctx)
		}
	}()
	nrej, _, err := j.prune(ctx, &j.rej, 0, 0)
	if err != nil {
		return err
	}
	ncopies, _, err := j.prune(ctx, &j.dup, 0, 0)
	if err != nil {
		return err
	}
	if _, err := j.stmts["commit"].ExecContext(ctx); err != nil {
		return fmt.Errorf("journal: commit: %w", err)
	}
	j.rej.committed(0, nrej)
	j.dup.committed(0, ncopies)
	return nil
}
