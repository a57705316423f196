package verify

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// writer is the journal's only writer: it takes what is pending (up to
// maxBatch, deliveries waiting for their answer first, then rejections),
// commits it in one transaction (group commit) and only then releases the
// waiting requests.
func (j *Journal) writer() {
	defer j.feed.closeAll() // after done is closed: no Subscribe can slip in between
	defer close(j.done)
	batch := make([]pending, 0, maxBatch)
	reqs, rejects := j.reqs, j.rejects
	for reqs != nil || rejects != nil {
		batch = batch[:0]
		select {
		case p, ok := <-reqs:
			if !ok {
				reqs = nil
				continue
			}
			batch = append(batch, p)
		case p, ok := <-rejects:
			if !ok {
				rejects = nil
				continue
			}
			batch = append(batch, p)
		}
		batch, reqs = fill(batch, reqs)
		batch, rejects = fill(batch, rejects)
		j.connMu.Lock()
		results, err := j.write(batch)
		j.connMu.Unlock()
		for i, p := range batch {
			if p.done == nil {
				continue
			}
			if err != nil {
				p.done <- result{err: err}
			} else {
				p.done <- results[i]
			}
		}
	}
}

// fill appends what ch holds now, up to maxBatch; it returns nil for ch
// once ch is closed and drained.
func fill(batch []pending, ch chan pending) ([]pending, chan pending) {
	for ch != nil && len(batch) < maxBatch {
		select {
		case p, ok := <-ch:
			if !ok {
				return batch, nil
			}
			batch = append(batch, p)
		default:
			return batch, ch
		}
	}
	return batch, ch
}

const (
	// insertEvent inserts a new event; on a conflict with an existing
	// i_event it changes nothing (0 rows), and repeatEvent counts the repeat.
	insertEvent = `INSERT INTO events(i_event, event_type, variables, deliveries, first_delivery, last_delivery, auth_scheme, status, flags,
	body, headers, remote, forward_status, forward_ms, entity)
VALUES(?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(i_event) DO NOTHING`
	repeatEvent = `UPDATE events SET deliveries = deliveries + 1, last_delivery = max(last_delivery, ?) WHERE i_event = ?
RETURNING deliveries`
	insertRejection = `INSERT INTO rejections(at, i_event, event_type, status, auth_scheme, auth, reason,
	remote, body, body_size, headers, forward_status, forward_ms, forward_error, entity)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// pruneRejections deletes the oldest ? rejections; the statuses of
	// the deleted ones keep Counts exact.
	pruneRejections = `DELETE FROM rejections WHERE id IN (SELECT id FROM rejections ORDER BY id LIMIT ?) RETURNING status`
	addDropped      = `UPDATE meta SET value = value + ? WHERE key = 'rejections_dropped'`
	// pruneCopies deletes the oldest ? duplicate copies, never a replay.
	// It walks the table in id order from its start (NOT INDEXED: the
	// kind index is in time order and would sort every copy kept), so
	// it reads the rows it deletes and the few replays older than them.
	// Counts needs no statuses of them (every copy was answered 200 and
	// stays counted in its event's deliveries).
	pruneCopies      = `DELETE FROM copies WHERE id IN (SELECT id FROM copies NOT INDEXED WHERE kind = 'duplicate' ORDER BY id LIMIT ?)`
	addCopiesDropped = `UPDATE meta SET value = value + ? WHERE key = 'copies_dropped'`
)

// write commits one batch in one transaction. The uniqueness of i_event
// (the primary key, with ON CONFLICT) decides which delivery is first.
func (j *Journal) write(batch []pending) (_ []result, err error) {
	ctx := context.Background()
	if _, err := j.stmts["begin"].ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("journal: begin: %w", err)
	}
	// The rejections never queued are counted in this transaction; given
	// back when it fails.
	lost := j.overflow.Swap(0)
	counted := false // the rejections' prune added lost to the count
	defer func() {
		if err != nil {
			j.conn.ExecContext(ctx, "ROLLBACK")
			// An in-memory journal has no rollback journal: what the
			// transaction did before it failed stays (lost among it, once
			// counted), so the rows held are counted again.
			if !j.memory || !counted {
				j.overflow.Add(lost)
			}
			j.countBounded(ctx)
		}
	}()
	results := make([]result, len(batch))
	var rejected, copies int64
	for i, p := range batch {
		switch {
		case p.e.Replay:
			if results[i].id, err = j.insertCopy(ctx, &p.e, RowReplay, 0); err != nil {
				return nil, err
			}
		case p.done == nil:
			if results[i].id, err = j.insertRejection(ctx, &p.e); err != nil {
				return nil, err
			}
			rejected++
		default:
			if results[i], err = j.recordEvent(ctx, &p.e); err != nil {
				return nil, err
			}
			if !results[i].out.First {
				copies++
			}
		}
	}
	nrej, pruned, err := j.prune(ctx, &j.rej, rejected, lost)
	if err != nil {
		return nil, err
	}
	counted = true
	ncopies, _, err := j.prune(ctx, &j.dup, copies, 0)
	if err != nil {
		return nil, err
	}
	if _, err := j.stmts["commit"].ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("journal: commit: %w", err)
	}
	j.rej.committed(rejected, nrej)
	j.dup.committed(copies, ncopies)
	j.commits.Add(1)
	j.rows.Add(int64(len(batch)))
	j.committed(batch, results, pruned)
	return results, nil
}

// recordEvent inserts a first delivery, or counts a repeat and keeps it
// (with its raw capture) in the copies.
func (j *Journal) recordEvent(ctx context.Context, e *Entry) (result, error) {
	at := e.At.UnixNano()
	vars := string(e.Variables)
	if vars == "" {
		vars = "{}"
	}
	fs, fms := forwardCols(e)
	var body, headers any // a scratch journal keeps no raw capture
	if !j.scratch {
		body, headers = e.Body, e.Headers.text()
	}
	res, err := j.stmts["add"].ExecContext(ctx, e.IEvent, e.Type, vars, at, at, e.AuthScheme, e.Status, e.Flags,
		body, headers, nullString(e.Remote), fs, fms, nullString(e.Entity))
	if err != nil {
		return result{}, fmt.Errorf("journal: record i_event %d: %w", e.IEvent, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return result{out: Outcome{Deliveries: 1, First: true}, id: e.IEvent}, nil
	}
	var n int64
	if err := j.stmts["rep"].QueryRowContext(ctx, at, e.IEvent).Scan(&n); err != nil {
		return result{}, fmt.Errorf("journal: record repeat of i_event %d: %w", e.IEvent, err)
	}
	id, err := j.insertCopy(ctx, e, RowDuplicate, n)
	if err != nil {
		return result{}, err
	}
	return result{out: Outcome{Deliveries: n}, id: id}, nil
}

func (j *Journal) insertRejection(ctx context.Context, e *Entry) (int64, error) {
	var iev any
	if e.HasEvent {
		iev = e.IEvent
	}
	fs, fms := forwardCols(e)
	var ferr any
	if e.Forwarded && e.ForwardError != "" {
		ferr = e.ForwardError
	}
	size := e.BodySize
	if size < int64(len(e.Body)) {
		size = int64(len(e.Body))
	}
	res, err := j.stmts["ins"].ExecContext(ctx, e.At.UnixNano(), iev, e.Type, e.Status, e.AuthScheme, e.Auth, e.Reason,
		nullString(e.Remote), e.Body, size, e.Headers.text(), fs, fms, ferr, nullString(e.Entity))
	if err != nil {
		return 0, fmt.Errorf("journal: log rejection: %w", err)
	}
	return res.LastInsertId()
}

// bounded is a kind of row the journal keeps a bounded number of: the
// rejections (--max-rejected) and the duplicate copies (--max-copies).
// Once the rows held reach keep + slack (with slack 0: pass keep), the
// oldest are deleted back down to keep in the transaction that added the
// last, and counted: in the meta table (count), over the journal's life,
// and in dropped, for this process.
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

func forwardCols(e *Entry) (status, ms any) {
	if !e.Forwarded {
		return nil, nil
	}
	return e.ForwardStatus, e.ForwardMS
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
