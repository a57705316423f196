package verify

import (
	"context"
	"errors"
	"fmt"
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
	// pruneRejections keeps the newest ? rejections; the statuses of the
	// deleted ones keep Counts exact.
	pruneRejections = `DELETE FROM rejections WHERE id < (SELECT id FROM rejections ORDER BY id DESC LIMIT 1 OFFSET ?) RETURNING status`
	addDropped      = `UPDATE meta SET value = value + ? WHERE key = 'rejections_dropped'`
)

// write commits one batch in one transaction. The uniqueness of i_event
// (the primary key, with ON CONFLICT) decides which delivery is first.
func (j *Journal) write(batch []pending) (_ []result, err error) {
	ctx := context.Background()
	if _, err := j.stmts["begin"].ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("journal: begin: %w", err)
	}
	defer func() {
		if err != nil {
			j.conn.ExecContext(ctx, "ROLLBACK")
		}
	}()
	results := make([]result, len(batch))
	var rejected int64
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
		}
	}
	pruned, err := j.prune(ctx, rejected)
	if err != nil {
		return nil, err
	}
	if _, err := j.stmts["commit"].ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("journal: commit: %w", err)
	}
	j.rejCount += rejected - int64(len(pruned))
	j.dropped.Add(int64(len(pruned)))
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

// prune deletes the oldest rejections beyond the limit and adds them, with
// the rejections that were never queued, to the persistent drop count.
// It returns the statuses of the deleted rows.
func (j *Journal) prune(ctx context.Context, added int64) ([]int, error) {
	var pruned []int
	if j.rejCount+added > int64(j.maxRej) {
		rows, err := j.stmts["prune"].QueryContext(ctx, j.maxRej-1)
		if err != nil {
			return nil, fmt.Errorf("journal: prune rejections: %w", err)
		}
		for rows.Next() {
			var st int
			if err := rows.Scan(&st); err != nil {
				rows.Close()
				return nil, fmt.Errorf("journal: prune rejections: %w", err)
			}
			pruned = append(pruned, st)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("journal: prune rejections: %w", err)
		}
	}
	lost := j.overflow.Swap(0)
	if n := int64(len(pruned)) + lost; n > 0 {
		if _, err := j.stmts["drop"].ExecContext(ctx, n); err != nil {
			j.overflow.Add(lost)
			return nil, fmt.Errorf("journal: count dropped rejections: %w", err)
		}
	}
	return pruned, nil
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
