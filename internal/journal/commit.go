package journal

import (
	"context"
	"encoding/json"
	"fmt"
)

// statements are the writer's prepared statements, by name.
func statements() map[string]string {
	return map[string]string{
		"add": insertEvent, "rep": repeatEvent, "ins": insertRejection, "copy": insertCopy,
		"begin": "BEGIN IMMEDIATE", "commit": "COMMIT",
		"prune": pruneRejections, "drop": addDropped, "prune copies": pruneCopies, "drop copies": addCopiesDropped,
	}
}

const (
	// insertEvent inserts a new event; on a conflict with an existing
	// i_event it changes nothing (0 rows), and repeatEvent counts the repeat.
	insertEvent = `INSERT INTO events(i_event, event_type, variables, deliveries, first_delivery, last_delivery, auth_scheme, status, flags,
	body, headers, remote, forward_status, forward_ms, entity, forward_answer)
VALUES(?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(i_event) DO NOTHING`
	repeatEvent = `UPDATE events SET deliveries = deliveries + 1, last_delivery = max(last_delivery, ?) WHERE i_event = ?
RETURNING deliveries`
	insertRejection = `INSERT INTO rejections(at, i_event, event_type, status, auth_scheme, auth, reason,
	remote, body, body_size, headers, forward_status, forward_ms, forward_error, entity, forward_answer)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertCopy = `INSERT INTO copies(kind, at, i_event, event_type, entity, deliveries, auth_scheme, auth, status, reason, flags,
	remote, body, headers, forward_status, forward_ms, forward_error, source)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// pruneRejections deletes the oldest ? rejections; the statuses of
	// the deleted ones keep Counts exact.
	pruneRejections = `DELETE FROM rejections WHERE id IN (SELECT id FROM rejections ORDER BY id LIMIT ?) RETURNING status`
	addDropped      = `UPDATE meta SET value = value + ? WHERE key = 'rejections_dropped'`
	// pruneCopies deletes the oldest ? duplicates, never a replay. It
	// walks the table in id order from its start (NOT INDEXED: the kind
	// index is in time order and would sort every copy kept), so it reads
	// the rows it deletes and the few replays older than them. Counts
	// needs no statuses of them (every copy was answered 200 and stays
	// counted in its event's deliveries).
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
	for i := range batch {
		r := &batch[i].r
		switch r.Kind {
		case Replay:
			if results[i].id, err = j.insertCopy(ctx, r, Replay, 0); err != nil {
				return nil, err
			}
		case Rejected:
			if results[i].id, err = j.insertRejection(ctx, r); err != nil {
				return nil, err
			}
			rejected++
		default:
			if results[i], err = j.recordEvent(ctx, r); err != nil {
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
func (j *Journal) recordEvent(ctx context.Context, r *Record) (result, error) {
	at, id := r.Time.UnixNano(), *r.IEvent
	vars := string(r.Variables)
	if vars == "" {
		vars = "{}"
	}
	fs, fms := forwardCols(r)
	var body, headers any // a scratch journal keeps no raw capture
	if !j.scratch {
		body, headers = r.Body, r.Headers.text()
	}
	res, err := j.stmts["add"].ExecContext(ctx, id, r.Type, vars, at, at, r.AuthScheme, r.Status, r.Flags,
		body, headers, nullString(r.Remote), fs, fms, nullString(r.Entity), forwardAnswerCol(r))
	if err != nil {
		return result{}, fmt.Errorf("journal: record i_event %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return result{out: Outcome{Deliveries: 1, First: true}, id: id}, nil
	}
	var n int64
	if err := j.stmts["rep"].QueryRowContext(ctx, at, id).Scan(&n); err != nil {
		return result{}, fmt.Errorf("journal: record repeat of i_event %d: %w", id, err)
	}
	cid, err := j.insertCopy(ctx, r, Duplicate, n)
	if err != nil {
		return result{}, err
	}
	return result{out: Outcome{Deliveries: n}, id: cid}, nil
}

func (j *Journal) insertRejection(ctx context.Context, r *Record) (int64, error) {
	fs, fms := forwardCols(r)
	size := max(r.BodySize, int64(len(r.Body)))
	res, err := j.stmts["ins"].ExecContext(ctx, r.Time.UnixNano(), iEventCol(r), r.Type, r.Status, r.AuthScheme, r.Auth, r.Reason,
		nullString(r.Remote), r.Body, size, r.Headers.text(), fs, fms, forwardErrorCol(r), nullString(r.Entity),
		forwardAnswerCol(r))
	if err != nil {
		return 0, fmt.Errorf("journal: log rejection: %w", err)
	}
	return res.LastInsertId()
}

func (j *Journal) insertCopy(ctx context.Context, r *Record, kind Kind, deliveries int64) (int64, error) {
	fs, fms := forwardCols(r)
	var body, headers any // a scratch journal keeps no raw capture
	if !j.scratch {
		body, headers = r.Body, r.Headers.text()
	}
	res, err := j.stmts["copy"].ExecContext(ctx, string(kind), r.Time.UnixNano(), iEventCol(r), r.Type, nullString(r.Entity), deliveries,
		r.AuthScheme, r.Auth, r.Status, r.Reason, r.Flags, nullString(r.Remote), body, headers, fs, fms, forwardErrorCol(r),
		nullString(r.Source))
	if err != nil {
		return 0, fmt.Errorf("journal: record %s: %w", kind, err)
	}
	return res.LastInsertId()
}

func iEventCol(r *Record) any {
	if r.IEvent == nil {
		return nil
	}
	return *r.IEvent
}

// forwardCols are the Application's answer as stored: NULL when the
// request was not forwarded, else its status (0: no answer) and time.
func forwardCols(r *Record) (status, ms any) {
	if !r.Forwarded {
		return nil, nil
	}
	st, took := 0, 0.0
	if r.ForwardStatus != nil {
		st = *r.ForwardStatus
	}
	if r.ForwardMS != nil {
		took = *r.ForwardMS
	}
	return st, took
}

// forwardAnswerCol is the Application's answer (espf.Reply) as JSON: NULL
// when it was a plain delivery, or the request was not forwarded.
func forwardAnswerCol(r *Record) any {
	if !r.Forwarded || r.ForwardAnswer == nil {
		return nil
	}
	b, err := json.Marshal(r.ForwardAnswer)
	if err != nil {
		return nil
	}
	return string(b)
}

func forwardErrorCol(r *Record) any {
	if !r.Forwarded || r.ForwardError == "" {
		return nil
	}
	return r.ForwardError
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
