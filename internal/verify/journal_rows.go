package verify

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
)

// The journal as a list of deliveries, newest first, for serve's
// inspector: every delivery is one Row, whichever table keeps it — an
// event's first delivery (events), a later copy of it answered 200 and a
// replay to the Application (copies), a delivery not answered 200
// (rejections). Each source is read in its time order through an index and
// the sources are merged, so a page costs the same on a million rows as on
// a hundred.

const rowsSchema = `
CREATE TABLE IF NOT EXISTS copies (
	id             INTEGER PRIMARY KEY,
	kind           TEXT    NOT NULL,
	at             INTEGER NOT NULL,
	i_event        INTEGER,
	event_type     TEXT    NOT NULL DEFAULT '',
	entity         TEXT,
	deliveries     INTEGER NOT NULL DEFAULT 0,
	auth_scheme    TEXT    NOT NULL DEFAULT '',
	auth           TEXT    NOT NULL DEFAULT '',
	status         INTEGER NOT NULL,
	reason         TEXT    NOT NULL DEFAULT '',
	flags          TEXT    NOT NULL DEFAULT '',
	remote         TEXT,
	body           BLOB,
	headers        TEXT,
	forward_status INTEGER,
	forward_ms     REAL,
	forward_error  TEXT,
	source         TEXT
);`

// listingIndexes serve the listings (journal, GET /events, the inspector):
// each page is a range scan, not a sort. A scratch journal, which nobody
// lists, has none: every index is one more B-tree and WAL frame per commit.
const listingIndexes = `
CREATE INDEX IF NOT EXISTS events_by_first ON events(first_delivery, i_event);
CREATE INDEX IF NOT EXISTS copies_by_kind ON copies(kind, at);
CREATE INDEX IF NOT EXISTS copies_by_type ON copies(kind, event_type, at);
CREATE INDEX IF NOT EXISTS copies_by_event ON copies(i_event) WHERE i_event IS NOT NULL;
CREATE INDEX IF NOT EXISTS copies_by_entity ON copies(entity) WHERE entity IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_type ON events(event_type, first_delivery, i_event);
CREATE INDEX IF NOT EXISTS events_by_entity ON events(entity) WHERE entity IS NOT NULL;
CREATE INDEX IF NOT EXISTS rejections_by_at ON rejections(at);
CREATE INDEX IF NOT EXISTS rejections_by_event ON rejections(i_event) WHERE i_event IS NOT NULL;
CREATE INDEX IF NOT EXISTS rejections_by_entity ON rejections(entity) WHERE entity IS NOT NULL;`

// migrateRows adds the copies table and, unless the journal is a
// scratch one, the indexes of the listings.
func (j *Journal) migrateRows(ctx context.Context) error {
	if _, err := j.conn.ExecContext(ctx, rowsSchema); err != nil {
		return err
	}
	if j.scratch {
		return nil
	}
	_, err := j.conn.ExecContext(ctx, listingIndexes)
	return err
}

const insertCopy = `INSERT INTO copies(kind, at, i_event, event_type, entity, deliveries, auth_scheme, auth, status, reason, flags,
	remote, body, headers, forward_status, forward_ms, forward_error, source)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (j *Journal) insertCopy(ctx context.Context, e *Entry, kind RowKind, deliveries int64) (int64, error) {
	var iev any
	if e.HasEvent {
		iev = e.IEvent
	}
	fs, fms := forwardCols(e)
	var ferr any
	if e.Forwarded && e.ForwardError != "" {
		ferr = e.ForwardError
	}
	var body, headers any // a scratch journal keeps no raw capture
	if !j.scratch {
		body, headers = e.Body, e.Headers.text()
	}
	res, err := j.stmts["copy"].ExecContext(ctx, string(kind), e.At.UnixNano(), iev, e.Type, nullString(e.Entity), deliveries,
		e.AuthScheme, e.Auth, e.Status, e.Reason, e.Flags, nullString(e.Remote), body, headers, fs, fms, ferr,
		nullString(e.Source))
	if err != nil {
		return 0, fmt.Errorf("journal: record %s: %w", kind, err)
	}
	return res.LastInsertId()
}

// RecordReplay journals the inspector's replay of a delivery to the
// Application and returns its row's id. It returns after the commit.
func (j *Journal) RecordReplay(e Entry) (int64, error) {
	e.Replay = true
	done := make(chan result, 1)
	j.mu.RLock()
	if j.closed {
		j.mu.RUnlock()
		return 0, ErrClosed
	}
	j.reqs <- pending{e: e, done: done}
	j.mu.RUnlock()
	r := <-done
	return r.id, r.err
}

// RowKind says which kind of delivery a Row is.
type RowKind string

// Row kinds; the values are the stable machine form (URLs, JSON).
const (
	RowFirst     RowKind = "first"     // an event's first delivery answered 200
	RowDuplicate RowKind = "duplicate" // a later delivery of an event, answered 200
	RowRejected  RowKind = "rejected"  // a delivery not answered 200
	RowReplay    RowKind = "replay"    // the inspector's replay to the Application
)

// RowKinds are the kinds, in the order rows of the same time are listed.
var RowKinds = []RowKind{RowRejected, RowFirst, RowDuplicate, RowReplay}

func (k RowKind) rank() int { return slices.Index(RowKinds, k) }

// ParseRowKind reads a kind's machine form.
func ParseRowKind(s string) (RowKind, bool) {
	k := RowKind(s)
	return k, k.rank() >= 0
}

// Row is one delivery in the journal (or one replay), as the inspector's
// list shows it. Text fields are as stored: escape them for display.
type Row struct {
	Kind       RowKind   `json:"kind"`
	ID         int64     `json:"id"` // the i_event of a first delivery, else the copy's or the rejection's id
	Time       time.Time `json:"time"`
	IEvent     *int64    `json:"i_event"`
	Type       string    `json:"event_type,omitempty"`
	Entity     string    `json:"entity,omitempty"`
	Auth       string    `json:"auth"` // ok, failed, none, - (before auth); a replay: ok when serve signed it, edited, none
	AuthScheme string    `json:"auth_scheme"`
	Status     int       `json:"status"` // serve's answer; 0: none
	Reason     string    `json:"reason,omitempty"`
	Flags      string    `json:"flags,omitempty"`
	// Deliveries is the event's 200 answers: so far for a first delivery,
	// this copy's number for a duplicate.
	Deliveries    int64    `json:"deliveries,omitempty"`
	Remote        string   `json:"remote,omitempty"`
	Forwarded     bool     `json:"forwarded,omitempty"`
	ForwardStatus *int     `json:"forward_status,omitempty"` // nil: the Application gave no answer (ForwardError says why)
	ForwardMS     *float64 `json:"forward_ms,omitempty"`
	ForwardError  string   `json:"forward_error,omitempty"`
	Source        string   `json:"source,omitempty"` // a replay: the row it replayed ("first/7615")

	at int64 // the time as stored: the listing's key, exact
}

// Consequence is what the ESPF does with the row's answer.
func (r *Row) Consequence() espf.Outcome { return espf.Consequence(r.Status, r.Status == 0) }

// Key names the row: "first/7615", "rejected/12".
func (r *Row) Key() string { return string(r.Kind) + "/" + strconv.FormatInt(r.ID, 10) }

// Cursor is the row's place in the listing.
func (r *Row) Cursor() RowCursor { return RowCursor{At: r.at, Rank: r.Kind.rank(), ID: r.ID} }

func entryRow(e *Entry, kind RowKind, id, deliveries int64) Row {
	r := Row{Kind: kind, ID: id, Time: e.At.UTC(), at: e.At.UnixNano(), Type: e.Type, Entity: e.Entity, Auth: e.Auth,
		AuthScheme: e.AuthScheme, Status: e.Status, Reason: e.Reason, Flags: e.Flags, Deliveries: deliveries,
		Remote: e.Remote, Source: e.Source}
	if e.HasEvent {
		v := e.IEvent
		r.IEvent = &v
	}
	if e.Forwarded {
		r.Forwarded, r.ForwardError = true, e.ForwardError
		if e.ForwardStatus != 0 {
			st := e.ForwardStatus
			r.ForwardStatus = &st
		}
		ms := e.ForwardMS
		r.ForwardMS = &ms
	}
	return r
}

// RowCursor is a place in the listing: the rows before it are newer.
type RowCursor struct {
	At   int64 // the time as stored (Unix nanoseconds)
	Rank int   // the kind's rank
	ID   int64
}

// String is the cursor's form in a URL: AT-RANK-ID.
func (c RowCursor) String() string {
	return strconv.FormatInt(c.At, 10) + "-" + strconv.Itoa(c.Rank) + "-" + strconv.FormatInt(c.ID, 10)
}

// ParseRowCursor reads what String wrote.
func ParseRowCursor(s string) (RowCursor, error) {
	var c RowCursor
	p := strings.Split(s, "-")
	if len(p) == 4 && p[0] == "" { // a negative time
		p = []string{"-" + p[1], p[2], p[3]}
	}
	if len(p) != 3 {
		return c, fmt.Errorf("cursor %q: want AT-RANK-ID", s)
	}
	var err1, err2, err3 error
	c.At, err1 = strconv.ParseInt(p[0], 10, 64)
	c.Rank, err2 = strconv.Atoi(p[1])
	c.ID, err3 = strconv.ParseInt(p[2], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil || c.Rank < 0 || c.Rank >= len(RowKinds) {
		return RowCursor{}, fmt.Errorf("cursor %q: want AT-RANK-ID", s)
	}
	return c, nil
}

func (c RowCursor) less(d RowCursor) bool {
	return cmp.Or(cmp.Compare(c.At, d.At), cmp.Compare(c.Rank, d.Rank), cmp.Compare(c.ID, d.ID)) < 0
}

// RowFilter selects rows; the zero value selects all, newest first, a
// page of DefaultRowLimit.
type RowFilter struct {
	Type  string       // exact event_type
	Kind  RowKind      // only this kind; "" any
	Kinds []RowKind    // only these kinds (and Kind, when given); empty: any
	Since time.Time    // only rows at or after this time; zero: any
	Class espf.Outcome // only answers with this consequence (Delivered, Dropped, Resent); "" any
	// Search is an i_event or an entity id: "1000889" matches i_event
	// 1000889 and i_account=1000889, number=1000889, …; "i_account=5"
	// matches that entity only. Exact, not a substring.
	Search string
	Before *RowCursor // the rows older than this (the next page)
	After  *RowCursor // the rows newer than this (the previous page); Before wins
	Limit  int        // rows per page; 0 = DefaultRowLimit, at most MaxRowLimit
}

// Row page sizes.
const (
	DefaultRowLimit = 50
	MaxRowLimit     = 500
)

// wants reports whether the filter selects rows of kind k.
func (f *RowFilter) wants(k RowKind) bool {
	return (f.Kind == "" || f.Kind == k) && (len(f.Kinds) == 0 || slices.Contains(f.Kinds, k))
}

// Match reports whether r passes the filter's selection (not its place).
func (f *RowFilter) Match(r *Row) bool {
	switch {
	case f.Type != "" && r.Type != f.Type,
		!f.wants(r.Kind),
		!f.Since.IsZero() && r.at < f.Since.UnixNano(),
		f.Class != "" && r.Consequence() != f.Class:
		return false
	case f.Search == "":
		return true
	}
	n, isID := parseID(f.Search)
	if isID && r.IEvent != nil && *r.IEvent == n {
		return true
	}
	return r.Entity != "" && slices.Contains(entityCandidates(f.Search), r.Entity)
}

func parseID(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// entityCandidates are the entity values a search stands for.
func entityCandidates(q string) []string {
	if strings.Contains(q, "=") {
		return []string{q}
	}
	out := make([]string, len(event.EntityKeys))
	for i, k := range event.EntityKeys {
		out[i] = k + "=" + q
	}
	return out
}

// RowPage is one page of the listing, newest first. Older and Newer are
// the cursors of the next and the previous page; nil when there is none.
type RowPage struct {
	Rows         []Row
	Older, Newer *RowCursor
}

// source is one table's rows as Rows.
type source struct {
	kind   RowKind
	table  string
	at, id string // the columns of the listing's key
	cols   string // the select list, in scanRow's order
	where  string // fixed condition
	entity string // the entity column, or NULL in a journal from before it
}

func (j *Journal) sources() []source {
	c := func(table, name string) string { return j.col(table, name) }
	out := []source{{kind: RowRejected, table: "rejections", at: "at", id: "id", entity: c("rejections", "entity"), cols: `id, at, i_event, event_type, ` +
		c("rejections", "entity") + `, auth_scheme, auth, status, reason, '', 0, ` + c("rejections", "remote") + `, ` +
		c("rejections", "forward_status") + `, ` + c("rejections", "forward_ms") + `, ` + c("rejections", "forward_error") + `, NULL`},
		{kind: RowFirst, table: "events", at: "first_delivery", id: "i_event", entity: c("events", "entity"), cols: `i_event, first_delivery, i_event, event_type, ` +
			c("events", "entity") + `, auth_scheme, CASE auth_scheme WHEN 'none' THEN 'none' ELSE 'ok' END, status, '', flags, deliveries, ` +
			c("events", "remote") + `, ` + c("events", "forward_status") + `, ` + c("events", "forward_ms") + `, NULL, NULL`}}
	if !j.missing["copies"] {
		cols := `id, at, i_event, event_type, entity, auth_scheme, auth, status, reason, flags, deliveries, remote, forward_status, forward_ms, forward_error, source`
		out = append(out, source{kind: RowDuplicate, table: "copies", at: "at", id: "id", entity: "entity", cols: cols, where: `kind = 'duplicate'`},
			source{kind: RowReplay, table: "copies", at: "at", id: "id", entity: "entity", cols: cols, where: `kind = 'replay'`})
	}
	return out
}

// scanRow reads a row of a source's select list, then extra columns.
func scanRow(r *sql.Rows, kind RowKind, extra ...any) (Row, error) {
	var x Row
	var iev, fs sql.NullInt64
	var typ, entity, remote, ferr, src sql.NullString
	var fms sql.NullFloat64
	if err := r.Scan(append([]any{&x.ID, &x.at, &iev, &typ, &entity, &x.AuthScheme, &x.Auth, &x.Status, &x.Reason, &x.Flags,
		&x.Deliveries, &remote, &fs, &fms, &ferr, &src}, extra...)...); err != nil {
		return x, fmt.Errorf("read journal: %w", err)
	}
	x.Kind, x.Time = kind, time.Unix(0, x.at).UTC()
	if iev.Valid {
		x.IEvent = &iev.Int64
	}
	x.Type, x.Entity, x.Remote, x.ForwardError, x.Source = typ.String, entity.String, remote.String, ferr.String, src.String
	if fs.Valid && fs.Int64 != 0 {
		x.ForwardStatus = nullInt(fs)
	}
	x.ForwardMS = nullFloat(fms)
	x.Forwarded = x.ForwardStatus != nil || x.ForwardError != "" || (kind == RowReplay)
	return x, nil
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

// query builds one source's part of a page: its rows before (or after) the
// cursor in the listing's order, at most limit of them, in that order.
func (s *source) query(f *RowFilter, cur *RowCursor, newer bool, limit int) (string, []any, bool) {
	if !f.wants(s.kind) {
		return "", nil, false
	}
	if f.Class != "" && f.Class != espf.Delivered && (s.kind == RowFirst || s.kind == RowDuplicate) {
		return "", nil, false // always answered 200
	}
	conds := []string{}
	var args []any
	search := f.Search != ""
	if s.where != "" {
		w := s.where
		if search {
			// Not the kind's index: the search's own are narrower.
			w = "+" + w
		}
		conds = append(conds, w)
	}
	if f.Type != "" {
		conds = append(conds, "event_type = ?")
		args = append(args, f.Type)
	}
	if !f.Since.IsZero() {
		conds = append(conds, s.at+" >= ?")
		args = append(args, f.Since.UnixNano())
	}
	if f.Class != "" && s.kind != RowFirst && s.kind != RowDuplicate {
		conds = append(conds, classCond(f.Class))
	}
	if search {
		ents := entityCandidates(f.Search)
		term := s.entity + " IN (" + strings.TrimSuffix(strings.Repeat("?,", len(ents)), ",") + ")"
		for _, e := range ents {
			args = append(args, e)
		}
		if n, ok := parseID(f.Search); ok {
			term = "(i_event = ? OR " + term + ")"
			args = append([]any{n}, args[:len(args)-len(ents)]...)
			for _, e := range ents {
				args = append(args, e)
			}
		}
		conds = append(conds, term)
	}
	if cur != nil {
		// Strictly before (or after) the cursor in (at, rank, id) order.
		op := "<"
		if newer {
			op = ">"
		}
		rank := s.kind.rank()
		switch {
		case rank == cur.Rank:
			// The bound on the time alone makes it a range of the index;
			// the rest sorts out the rows of the cursor's own time.
			conds = append(conds, fmt.Sprintf("%s %s= ? AND (%s %s ? OR %s %s ?)", s.at, op, s.at, op, s.id, op))
			args = append(args, cur.At, cur.At, cur.ID)
		case (rank < cur.Rank) != newer:
			conds = append(conds, fmt.Sprintf("%s %s= ?", s.at, op))
			args = append(args, cur.At)
		default:
			conds = append(conds, fmt.Sprintf("%s %s ?", s.at, op))
			args = append(args, cur.At)
		}
	}
	dir := "DESC"
	if newer {
		dir = "ASC"
	}
	at := s.at
	if search {
		// A search finds a few rows through the i_event and entity
		// indexes; sorting them is cheaper than walking the time index.
		at = "+" + at
	}
	q := "SELECT " + s.cols + " FROM " + s.table
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY %s %s, %s %s LIMIT ?", at, dir, s.id, dir)
	return q, append(args, limit), true
}

// Rows reads one page of the listing that f selects, newest first.
func (j *Journal) Rows(ctx context.Context, f RowFilter) (RowPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultRowLimit
	}
	limit = min(limit, MaxRowLimit)
	cur, newer := f.Before, false
	if cur == nil && f.After != nil {
		cur, newer = f.After, true
	}
	var all []Row
	for _, s := range j.sources() {
		q, args, ok := s.query(&f, cur, newer, limit+1)
		if !ok {
			continue
		}
		err := j.query(ctx, q, args, func(r *sql.Rows) error {
			x, err := scanRow(r, s.kind)
			all = append(all, x)
			return err
		})
		if err != nil {
			return RowPage{}, err
		}
	}
	// Newest first; for the newer page, nearest to the cursor first.
	slices.SortFunc(all, func(a, b Row) int {
		c := a.Cursor()
		if c == b.Cursor() {
			return 0
		}
		if c.less(b.Cursor()) != newer {
			return 1
		}
		return -1
	})
	more := len(all) > limit
	all = all[:min(len(all), limit)]
	var p RowPage
	if newer {
		slices.Reverse(all)
	}
	p.Rows = all
	if len(all) == 0 {
		if cur != nil && !newer {
			p.Newer = cur // past the end: the way back
		}
		return p, nil
	}
	first, last := all[0].Cursor(), all[len(all)-1].Cursor()
	switch {
	case newer:
		p.Older = &last
		if more {
			p.Newer = &first
		}
	default:
		if more {
			p.Older = &last
		}
		if cur != nil {
			p.Newer = &first
		}
	}
	return p, nil
}

// EachRow calls fn for each row f selects, newest first, at most limit of
// them (0: all), reading the listing a page of MaxRowLimit at a time
// (f.Before, f.After and f.Limit are the pages' own). Rows written while
// it reads are newer than its first page: it does not list them.
func (j *Journal) EachRow(ctx context.Context, f RowFilter, limit int, fn func(*Row) error) error {
	f.Before, f.After = nil, nil
	for n := 0; ; {
		f.Limit = MaxRowLimit
		if limit > 0 {
			f.Limit = min(MaxRowLimit, limit-n)
		}
		p, err := j.Rows(ctx, f)
		if err != nil {
			return err
		}
		for i := range p.Rows {
			if err := fn(&p.Rows[i]); err != nil {
				return err
			}
		}
		n += len(p.Rows)
		if p.Older == nil || (limit > 0 && n >= limit) {
			return nil
		}
		f.Before = p.Older
	}
}

// KeepsCopies reports whether the journal has the copies table: a journal
// written before it counts an event's duplicates but keeps none of them.
func (j *Journal) KeepsCopies() bool { return !j.missing["copies"] }

// RowDetail is one row with what the journal keeps of its request.
type RowDetail struct {
	Row
	Body     []byte // as received (a rejection's: at most MaxRejectedBody bytes of BodySize)
	BodySize int64
	BodyRead bool // false: the request was refused from its headers, its body never read
	Headers  Headers
	// Event is the journal's event of a first delivery (its journal
	// --json line), nil for the other kinds.
	Event *Event
}

// Complete reports whether the body is whole: a replay as recorded
// sends these bytes.
func (d *RowDetail) Complete() bool { return d.BodyRead && int64(len(d.Body)) == d.BodySize }

// ErrNoSuchRow is returned for a row that is not (or no longer) in the journal.
var ErrNoSuchRow = errors.New("no such delivery in the journal")

// RowDetail reads one row with its raw capture.
func (j *Journal) RowDetail(ctx context.Context, kind RowKind, id int64) (*RowDetail, error) {
	for _, s := range j.sources() {
		if s.kind != kind {
			continue
		}
		extra := ", NULL, NULL, NULL"
		switch s.table {
		case "rejections":
			extra = ", " + j.col(s.table, "body") + ", " + j.col(s.table, "body_size") + ", " + j.col(s.table, "headers")
		case "copies":
			extra = ", body, NULL, headers"
		}
		q := "SELECT " + s.cols + extra + " FROM " + s.table + " WHERE " + s.id + " = ?"
		if s.where != "" {
			q += " AND " + s.where
		}
		var d *RowDetail
		err := j.query(ctx, q, []any{id}, func(r *sql.Rows) error {
			var b []byte
			var size sql.NullInt64
			var h sql.NullString
			x, err := scanRow(r, kind, &b, &size, &h)
			if err != nil {
				return err
			}
			d = &RowDetail{Row: x, Body: b, BodySize: int64(len(b)), BodyRead: true, Headers: parseHeaders(h)}
			if size.Valid {
				// A rejection refused from its headers has a declared size
				// and no body.
				d.BodySize = max(size.Int64, int64(len(b)))
				d.BodyRead = b != nil || size.Int64 == 0
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if d == nil {
			break
		}
		if kind == RowFirst {
			if d.Event, err = j.Event(ctx, id); err != nil {
				return nil, err
			}
			d.Body, d.BodySize, d.Headers = d.Event.Body, int64(len(d.Event.Body)), d.Event.Headers
		}
		return d, nil
	}
	return nil, fmt.Errorf("%s/%d: %w", kind, id, ErrNoSuchRow)
}

// Attempts lists every row of one i_event, oldest first (at most
// MaxRowLimit of each kind): its rejections, its first delivery, its
// duplicates and replays.
func (j *Journal) Attempts(ctx context.Context, iEvent int64) ([]Row, error) {
	var out []Row
	for _, s := range j.sources() {
		q := "SELECT " + s.cols + " FROM " + s.table + " WHERE i_event = ?"
		if s.where != "" {
			q += " AND " + s.where
		}
		q += " ORDER BY " + s.at + " LIMIT ?"
		err := j.query(ctx, q, []any{iEvent, MaxRowLimit}, func(r *sql.Rows) error {
			x, err := scanRow(r, s.kind)
			out = append(out, x)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b Row) int {
		if a.Cursor().less(b.Cursor()) {
			return -1
		}
		return 1
	})
	return out, nil
}

// rowJSON is a RowDetail's JSON form (journal --copies --json): the
// field names of the journal's event and rejection lines, with kind.
type rowJSON struct {
	Time          time.Time           `json:"time"`
	Kind          RowKind             `json:"kind"`
	ID            int64               `json:"id"`
	IEvent        *int64              `json:"i_event"`
	Type          string              `json:"event_type,omitempty"`
	Entity        string              `json:"entity,omitempty"`
	Deliveries    int64               `json:"deliveries"`
	Status        int                 `json:"status"`
	AuthScheme    string              `json:"auth_scheme"`
	Auth          string              `json:"auth"`
	Reason        string              `json:"reason,omitempty"`
	Flags         string              `json:"flags,omitempty"`
	Remote        string              `json:"remote,omitempty"`
	Source        string              `json:"source,omitempty"`
	ForwardStatus *int                `json:"forward_status,omitempty"`
	ForwardMS     *float64            `json:"forward_ms,omitempty"`
	ForwardError  string              `json:"forward_error,omitempty"`
	Body          *string             `json:"body,omitempty"`
	BodyBase64    []byte              `json:"body_base64,omitempty"`
	BodySize      int64               `json:"body_size"`
	BodyTruncated bool                `json:"body_truncated,omitempty"`
	Headers       map[string][]string `json:"headers,omitempty"`
}

// MarshalJSON writes the row and its raw capture as valid UTF-8 JSON:
// the body as a string when it is valid UTF-8, else as body_base64.
// Forwarded rows carry the Application's answer (forward_status, or
// forward_error when it gave none).
func (d RowDetail) MarshalJSON() ([]byte, error) {
	x := rowJSON{Time: d.Time, Kind: d.Kind, ID: d.ID, IEvent: d.IEvent, Type: d.Type, Entity: d.Entity,
		Deliveries: d.Deliveries, Status: d.Status, AuthScheme: d.AuthScheme, Auth: d.Auth, Reason: d.Reason,
		Flags: d.Flags, Remote: d.Remote, Source: d.Source, ForwardStatus: d.ForwardStatus, ForwardMS: d.ForwardMS,
		ForwardError: d.ForwardError, BodySize: d.BodySize, BodyTruncated: !d.Complete(), Headers: d.Headers}
	x.Body, x.BodyBase64 = bodyFields(d.Body)
	return marshalNoHTML(x)
}

// BodyJSON is the body as received when it is JSON, else nil.
func (d *RowDetail) BodyJSON() json.RawMessage {
	if d.Complete() && json.Valid(d.Body) {
		return d.Body
	}
	return nil
}
