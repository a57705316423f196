package journal

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
)

// A record lives in one of three tables: a first delivery in events, a
// rejection in rejections, a duplicate or a replay in copies. Each table
// is a source of one kind of record, read in its time order through an
// index; the listing merges the sources (read.go), so a page costs the
// same on a million rows as on a hundred.

// source is one kind's rows as Records.
type source struct {
	kind    Kind
	table   string
	at, id  string // the columns of the listing's key
	cols    string // the select list, in scanRecord's order
	capture string // the raw capture's columns: body, body_size, headers, variables
	where   string // fixed condition
	entity  string // the entity column, or NULL in a journal from before it
}

// noCapture stands for the capture's columns when they are not read.
const noCapture = "NULL, NULL, NULL, NULL"

func (j *Journal) sources() []source {
	c := j.col
	out := []source{{kind: Rejected, table: "rejections", at: "at", id: "id", entity: c("rejections", "entity"),
		cols: `id, at, i_event, event_type, ` + c("rejections", "entity") + `, auth_scheme, auth, status, reason, '', 0, ` +
			c("rejections", "remote") + `, ` + c("rejections", "forward_status") + `, ` + c("rejections", "forward_ms") + `, ` +
			c("rejections", "forward_error") + `, NULL, NULL, ` + c("rejections", "forward_answer"),
		capture: c("rejections", "body") + `, ` + c("rejections", "body_size") + `, ` + c("rejections", "headers") + `, NULL`},
		{kind: First, table: "events", at: "first_delivery", id: "i_event", entity: c("events", "entity"),
			cols: `i_event, first_delivery, i_event, event_type, ` + c("events", "entity") +
				`, auth_scheme, CASE auth_scheme WHEN 'none' THEN 'none' ELSE 'ok' END, status, '', flags, deliveries, ` +
				c("events", "remote") + `, ` + c("events", "forward_status") + `, ` + c("events", "forward_ms") + `, NULL, NULL, last_delivery, ` + c("events", "forward_answer"),
			capture: c("events", "body") + `, NULL, ` + c("events", "headers") + `, variables`}}
	if !j.missing["copies"] {
		cols := `id, at, i_event, event_type, entity, auth_scheme, auth, status, reason, flags, deliveries, remote, forward_status, ` +
			`forward_ms, forward_error, source, NULL, NULL`
		out = append(out,
			source{kind: Duplicate, table: "copies", at: "at", id: "id", entity: "entity", cols: cols, where: `kind = 'duplicate'`,
				capture: `body, NULL, headers, NULL`},
			source{kind: Replay, table: "copies", at: "at", id: "id", entity: "entity", cols: cols, where: `kind = 'replay'`,
				capture: `body, NULL, headers, NULL`})
	}
	return out
}

// selectList is the source's columns, with the capture's or NULLs.
func (s *source) selectList(capture bool) string {
	if capture {
		return s.cols + ", " + s.capture
	}
	return s.cols + ", " + noCapture
}

// scanRecord reads a row of a source's selectList; size is about what the
// record holds in memory.
func scanRecord(r *sql.Rows, kind Kind, capture bool) (x Record, size int, err error) {
	return scanRecordExtra(r, kind, capture, nil)
}

// scanRecordExtra is scanRecord for a select list with one more column
// after the record's (extra non-nil), scanned into extra.
func scanRecordExtra(r *sql.Rows, kind Kind, capture bool, extra any) (x Record, size int, err error) {
	var iev, fs, last, bodySize sql.NullInt64
	var typ, entity, remote, ferr, src, hdrs, vars, answer sql.NullString
	var fms sql.NullFloat64
	var body []byte
	if extra == nil {
		err = r.Scan(&x.ID, &x.at, &iev, &typ, &entity, &x.AuthScheme, &x.Auth, &x.Status, &x.Reason, &x.Flags,
			&x.Deliveries, &remote, &fs, &fms, &ferr, &src, &last, &answer, &body, &bodySize, &hdrs, &vars)
	} else {
		err = r.Scan(&x.ID, &x.at, &iev, &typ, &entity, &x.AuthScheme, &x.Auth, &x.Status, &x.Reason, &x.Flags,
			&x.Deliveries, &remote, &fs, &fms, &ferr, &src, &last, &answer, &body, &bodySize, &hdrs, &vars, extra)
	}
	if err != nil {
		return x, 0, fmt.Errorf("read journal: %w", err)
	}
	x.Kind, x.Time = kind, time.Unix(0, x.at).UTC()
	if iev.Valid {
		x.IEvent = &iev.Int64
	}
	x.Type, x.Entity, x.Remote, x.ForwardError, x.Source = typ.String, entity.String, remote.String, ferr.String, src.String
	if last.Valid {
		x.LastDelivery = time.Unix(0, last.Int64).UTC()
	}
	// A forwarded request stores the Application's status, 0 when it gave
	// no answer.
	x.Forwarded = fs.Valid || x.ForwardError != "" || kind == Replay
	if fs.Valid && fs.Int64 != 0 {
		x.ForwardStatus = nullInt(fs)
	}
	x.ForwardMS = nullFloat(fms)
	if answer.Valid {
		var a espf.Reply
		if json.Unmarshal([]byte(answer.String), &a) == nil {
			x.ForwardAnswer = &a
		}
	}
	if capture {
		x.Body, x.BodySize, x.BodyRead, x.Headers = body, int64(len(body)), true, parseHeaders(hdrs)
		if bodySize.Valid {
			// A rejection refused from its headers has a declared size
			// and no body.
			x.BodySize = max(bodySize.Int64, int64(len(body)))
			x.BodyRead = body != nil || bodySize.Int64 == 0
		}
		if vars.Valid {
			x.Variables = json.RawMessage(vars.String)
		}
	}
	return x, len(body) + len(hdrs.String) + len(vars.String) + len(x.Reason) + len(answer.String) + 256, nil
}

func nullInt(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

func nullFloat(n sql.NullFloat64) *float64 {
	if !n.Valid {
		return nil
	}
	return &n.Float64
}

// classCond is the SQL condition on status for a consequence.
func classCond(class espf.Outcome) string {
	switch class {
	case espf.Delivered:
		return `status = 200`
	case espf.Dropped:
		return `status BETWEEN 400 AND 499`
	case espf.Resent:
		return `status <> 200 AND status NOT BETWEEN 400 AND 499`
	}
	return ""
}

// query builds one source's part of a page: its rows past the cursor
// (older, or newer when newer) in the listing's order, nearest first, at
// most limit of them; ok is false when q selects none of the source's.
func (s *source) query(q *Query, cur *Cursor, newer bool, limit int) (_ string, _ []any, ok bool) {
	if !q.wants(s.kind) {
		return "", nil, false
	}
	if q.Class != "" && q.Class != espf.Delivered && (s.kind == First || s.kind == Duplicate) {
		return "", nil, false // always answered 200
	}
	var conds []string
	var args []any
	narrow := q.narrow()
	if s.where != "" {
		w := s.where
		if narrow {
			// Not the kind's index: the search's own are narrower.
			w = "+" + w
		}
		conds = append(conds, w)
	}
	if q.Type != "" {
		conds = append(conds, "event_type = ?")
		args = append(args, q.Type)
	}
	if !q.Since.IsZero() {
		conds = append(conds, s.at+" >= ?")
		args = append(args, q.Since.UnixNano())
	}
	if q.Class != "" && s.kind != First && s.kind != Duplicate {
		conds = append(conds, classCond(q.Class))
	}
	if q.IEvent != nil {
		conds = append(conds, "i_event = ?")
		args = append(args, *q.IEvent)
	}
	if q.Search != "" {
		ents := entityCandidates(q.Search)
		term := s.entity + " IN (" + strings.TrimSuffix(strings.Repeat("?,", len(ents)), ",") + ")"
		if n, ok := parseID(q.Search); ok {
			term = "(i_event = ? OR " + term + ")"
			args = append(args, n)
		}
		for _, e := range ents {
			args = append(args, e)
		}
		conds = append(conds, term)
	}
	at := s.at // the listing's order: time, or id with ByID
	if q.ByID {
		at = s.id
	}
	if cur != nil {
		conds, args = s.past(conds, args, at, cur, newer)
	}
	dir := "DESC"
	if newer {
		dir = "ASC"
	}
	if narrow {
		// A search finds a few rows through the i_event and entity
		// indexes; sorting them is cheaper than walking the time index.
		at = "+" + at
	}
	sql := "SELECT " + s.selectList(q.Capture) + " FROM " + s.table
	if len(conds) > 0 {
		sql += " WHERE " + strings.Join(conds, " AND ")
	}
	sql += fmt.Sprintf(" ORDER BY %s %s, %s %s LIMIT ?", at, dir, s.id, dir)
	return sql, append(args, limit), true
}

// past adds the condition: strictly older (or newer) than the cursor in
// (at, rank, id) order, at being the listing's order column.
func (s *source) past(conds []string, args []any, at string, cur *Cursor, newer bool) ([]string, []any) {
	op := "<"
	if newer {
		op = ">"
	}
	rank := s.kind.rank()
	switch {
	case rank == cur.Rank:
		// The bound on the time alone makes it a range of the index;
		// the rest sorts out the rows of the cursor's own time.
		conds = append(conds, fmt.Sprintf("%s %s= ? AND (%s %s ? OR %s %s ?)", at, op, at, op, s.id, op))
		args = append(args, cur.At, cur.At, cur.ID)
	case (rank < cur.Rank) != newer:
		conds = append(conds, fmt.Sprintf("%s %s= ?", at, op))
		args = append(args, cur.At)
	default:
		conds = append(conds, fmt.Sprintf("%s %s ?", at, op))
		args = append(args, cur.At)
	}
	return conds, args
}
