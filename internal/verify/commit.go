package verify

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

const (
	// insertEvents* build "insert n new events": a row whose i_event exists
	// changes nothing, and RETURNING names the rows inserted.
	insertEventsHead = `INSERT INTO events(i_event, event_type, variables, deliveries, first_delivery, last_delivery, auth_scheme, status, flags) VALUES `
	insertEventsRow  = `(?, ?, ?, 1, ?, ?, ?, ?, ?)`
	insertEventsTail = ` ON CONFLICT(i_event) DO NOTHING RETURNING i_event`
	eventCols        = 8
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
	waiting := make([]int, 0, len(batch))
	args := make([]any, 0, eventCols*len(batch))
	for i, p := range batch {
		e := p.e
		at := e.At.UnixNano()
		if p.done != nil {
			vars := string(e.Variables)
			if vars == "" {
				vars = "{}"
			}
			waiting = append(waiting, i)
			args = append(args, e.IEvent, e.Type, vars, at, at, e.AuthScheme, e.Status, e.Flags)
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
	if len(waiting) > 0 {
		if err := j.record(ctx, batch, waiting, args, results); err != nil {
			return nil, err
		}
	}
	if _, err := j.commit.ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("journal: commit: %w", err)
	}
	j.commits.Add(1)
	j.rows.Add(int64(len(batch)))
	return results, nil
}

// record inserts the waiting deliveries' events with one statement; the
// rows it inserted are first deliveries, the others (events that existed,
// or a second delivery in the same batch) are counted as repeats.
func (j *Journal) record(ctx context.Context, batch []pending, waiting []int, args []any, results []result) error {
	st, err := j.insertStmt(ctx, len(waiting))
	if err != nil {
		return fmt.Errorf("journal: prepare: %w", err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("journal: record %d events: %w", len(waiting), err)
	}
	inserted := make([]int64, 0, len(waiting))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("journal: record events: %w", err)
		}
		inserted = append(inserted, id)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("journal: record events: %w", err)
	}
	for _, i := range waiting {
		e := batch[i].e
		if k := slices.Index(inserted, e.IEvent); k >= 0 {
			inserted[k] = -1 // a second delivery in this batch is a repeat
			results[i].out = Outcome{Deliveries: 1, First: true}
			continue
		}
		var n int64
		if err := j.rep.QueryRowContext(ctx, e.At.UnixNano(), e.IEvent).Scan(&n); err != nil {
			return fmt.Errorf("journal: record repeat of i_event %d: %w", e.IEvent, err)
		}
		results[i].out = Outcome{Deliveries: n}
	}
	return nil
}

// insertStmt returns the statement that inserts n events, prepared on the
// writer's connection the first time a batch of n needs it.
func (j *Journal) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	for len(j.addN) <= n {
		j.addN = append(j.addN, nil)
	}
	if j.addN[n] == nil {
		q := insertEventsHead + strings.Repeat(insertEventsRow+",", n-1) + insertEventsRow + insertEventsTail
		st, err := j.conn.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		j.addN[n] = st
	}
	return j.addN[n], nil
}
