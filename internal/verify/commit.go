package verify

import (
	"context"
	"fmt"
)

// writer is the journal's only writer: it takes what is pending (up to
// maxBatch), commits it in one transaction (group commit) and only then
// releases the waiting requests.
func (j *Journal) writer() {
	defer close(j.done)
	batch := make([]pending, 0, maxBatch)
	for p := range j.reqs {
		batch = append(batch[:0], p)
	fill:
		for len(batch) < maxBatch {
			select {
			case p, ok := <-j.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			default:
				break fill
			}
		}
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

const (
	// insertEvent inserts a new event; on a conflict with an existing
	// i_event it changes nothing (0 rows), and repeatEvent counts the repeat.
	insertEvent = `INSERT INTO events(i_event, event_type, variables, deliveries, first_delivery, last_delivery, auth_scheme, status, flags)
VALUES(?, ?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT(i_event) DO NOTHING`
	repeatEvent = `UPDATE events SET deliveries = deliveries + 1, last_delivery = max(last_delivery, ?) WHERE i_event = ?
RETURNING deliveries`
	insertRejection = `INSERT INTO rejections(at, i_event, event_type, status, auth_scheme, auth, reason)
VALUES(?, ?, ?, ?, ?, ?, ?)`
)

// commit writes one batch in one transaction. The uniqueness of i_event
// (the primary key, with ON CONFLICT) decides which delivery is first.
func (j *Journal) write(batch []pending) (_ []result, err error) {
	ctx := context.Background()
	if _, err := j.begin.ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("journal: begin: %w", err)
	}
	defer func() {
		if err != nil {
			j.conn.ExecContext(ctx, "ROLLBACK")
		}
	}()
	results := make([]result, len(batch))
	for i, p := range batch {
		e := p.e
		at := e.At.UnixNano()
		if p.done != nil {
			vars := string(e.Variables)
			if vars == "" {
				vars = "{}"
			}
			res, err := j.add.ExecContext(ctx, e.IEvent, e.Type, vars, at, at, e.AuthScheme, e.Status, e.Flags)
			if err != nil {
				return nil, fmt.Errorf("journal: record i_event %d: %w", e.IEvent, err)
			}
			if n, err := res.RowsAffected(); err == nil && n == 1 {
				results[i].out = Outcome{Deliveries: 1, First: true}
				continue
			}
			var n int64
			if err := j.rep.QueryRowContext(ctx, at, e.IEvent).Scan(&n); err != nil {
				return nil, fmt.Errorf("journal: record repeat of i_event %d: %w", e.IEvent, err)
			}
			results[i].out = Outcome{Deliveries: n}
			continue
		}
		var iev any
		if e.HasEvent {
			iev = e.IEvent
		}
		if _, err := j.ins.ExecContext(ctx, at, iev, e.Type, e.Status, e.AuthScheme, e.Auth, e.Reason); err != nil {
			return nil, fmt.Errorf("journal: log rejection: %w", err)
		}
	}
	if _, err := j.commit.ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("journal: commit: %w", err)
	}
	j.commits.Add(1)
	j.rows.Add(int64(len(batch)))
	return results, nil
}
