package verify

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one journal row: an i_event answered 200 at least once. The JSON
// field names are a stable interface (espfctl journal --json, GET /events):
// body (or body_base64 when the bytes are not valid UTF-8) and headers are
// the raw capture of the event's first delivery.
type Event struct {
	IEvent        int64
	Type          string
	Variables     json.RawMessage
	Deliveries    int64
	FirstDelivery time.Time
	LastDelivery  time.Time
	AuthScheme    string
	Status        int
	Flags         string
	// Raw capture of the first delivery; nil in journals written before it.
	Body    []byte
	Headers Headers
	Remote  string
	// The Application's answer to the first delivery, with serve
	// --forward-to (nil otherwise).
	ForwardStatus *int
	ForwardMS     *float64

	first int64 // first_delivery as stored: the listing's cursor, exact whatever the time
}

// Rejection is one delivery that was not answered 200: refused by serve's
// checks, faulted, or refused by the Application. Its body is at most
// MaxRejectedBody bytes of BodySize.
type Rejection struct {
	Time          time.Time
	IEvent        *int64
	Type          string
	Status        int
	AuthScheme    string
	Auth          string
	Reason        string
	Remote        string
	Body          []byte
	BodySize      int64
	Headers       Headers
	ForwardStatus *int
	ForwardMS     *float64
	ForwardError  string
}

// Truncated reports whether the journal kept only part of the body.
func (r *Rejection) Truncated() bool { return r.BodySize > int64(len(r.Body)) }

// ErrNoSuchEvent is returned for a Filter.After that is not in the journal.
var ErrNoSuchEvent = errors.New("no such i_event in the journal")

// pageRows and pageBytes bound one page read from the database: a listing
// holds at most one page in memory and no read transaction while it hands
// the page on, however slowly its reader takes it.
const (
	pageRows  = 256
	pageBytes = 1 << 20
)

// errPageFull stops a page's scan early.
var errPageFull = errors.New("page full")

type cursor struct {
	first, iEvent int64
}

// EachEvent calls fn for each event f selects, in first-delivery order, a
// page at a time: memory stays bounded by one page whatever the journal's
// size, and fn may block (a slow HTTP reader) without holding the
// database. An error from fn stops the listing and is returned.
func (j *Journal) EachEvent(ctx context.Context, f Filter, fn func(*Event) error) error {
	var cur *cursor
	if f.HasAfter {
		c, err := j.cursorOf(ctx, f.After)
		if err != nil {
			return err
		}
		cur = c
	}
	left := f.Limit
	for {
		want := pageRows
		if f.Limit > 0 {
			want = min(want, left)
		}
		page, err := j.eventPage(ctx, f, cur, want)
		if err != nil {
			return err
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if f.Limit > 0 {
			left -= len(page)
		}
		if len(page) == 0 || (f.Limit > 0 && left <= 0) {
			return nil
		}
		last := page[len(page)-1]
		cur = &cursor{first: last.first, iEvent: last.IEvent}
	}
}

// Events lists the journal's events in first-delivery order.
func (j *Journal) Events(ctx context.Context, f Filter) ([]Event, error) {
	var out []Event
	err := j.EachEvent(ctx, f, func(e *Event) error {
		out = append(out, *e)
		return nil
	})
	return out, err
}

func (j *Journal) cursorOf(ctx context.Context, iEvent int64) (*cursor, error) {
	var c *cursor
	err := j.query(ctx, `SELECT first_delivery FROM events WHERE i_event = ?`, []any{iEvent}, func(r *sql.Rows) error {
		c = &cursor{iEvent: iEvent}
		return r.Scan(&c.first)
	})
	if err == nil && c == nil {
		err = fmt.Errorf("after %d: %w", iEvent, ErrNoSuchEvent)
	}
	return c, err
}

// eventCols is the select list scanEvent reads.
func (j *Journal) eventCols() string {
	return `i_event, event_type, variables, deliveries, first_delivery, last_delivery, auth_scheme, status, flags, ` +
		j.col("events", "body") + `, ` + j.col("events", "headers") + `, ` + j.col("events", "remote") + `, ` +
		j.col("events", "forward_status") + `, ` + j.col("events", "forward_ms")
}

// scanEvent reads a row of eventCols; size is what it holds in memory.
func scanEvent(r *sql.Rows) (e Event, size int, err error) {
	var vars string
	var first, last int64
	var hdrs, remote sql.NullString
	var fs sql.NullInt64
	var fms sql.NullFloat64
	if err := r.Scan(&e.IEvent, &e.Type, &vars, &e.Deliveries, &first, &last, &e.AuthScheme, &e.Status, &e.Flags,
		&e.Body, &hdrs, &remote, &fs, &fms); err != nil {
		return e, 0, fmt.Errorf("read journal: %w", err)
	}
	e.Variables = json.RawMessage(vars)
	e.first = first
	e.FirstDelivery = time.Unix(0, first).UTC()
	e.LastDelivery = time.Unix(0, last).UTC()
	e.Headers = parseHeaders(hdrs)
	e.Remote = remote.String
	e.ForwardStatus, e.ForwardMS = nullInt(fs), nullFloat(fms)
	return e, len(vars) + len(e.Body) + len(hdrs.String) + 256, nil
}

// Event reads one event by i_event; ErrNoSuchEvent when it is not there.
func (j *Journal) Event(ctx context.Context, iEvent int64) (*Event, error) {
	var out *Event
	err := j.query(ctx, `SELECT `+j.eventCols()+` FROM events WHERE i_event = ?`, []any{iEvent}, func(r *sql.Rows) error {
		e, _, err := scanEvent(r)
		out = &e
		return err
	})
	if err == nil && out == nil {
		err = fmt.Errorf("i_event %d: %w", iEvent, ErrNoSuchEvent)
	}
	return out, err
}

func (j *Journal) eventPage(ctx context.Context, f Filter, cur *cursor, limit int) ([]Event, error) {
	q := `SELECT ` + j.eventCols() + ` FROM events WHERE 1=1`
	var args []any
	if f.Type != "" {
		q += ` AND event_type = ?`
		args = append(args, f.Type)
	}
	if !f.Since.IsZero() {
		q += ` AND first_delivery >= ?`
		args = append(args, f.Since.UnixNano())
	}
	if cur != nil {
		q += ` AND (first_delivery > ? OR (first_delivery = ? AND i_event > ?))`
		args = append(args, cur.first, cur.first, cur.iEvent)
	}
	q += ` ORDER BY first_delivery, i_event LIMIT ?`
	args = append(args, limit)
	page := make([]Event, 0, min(limit, 64))
	size := 0
	err := j.query(ctx, q, args, func(r *sql.Rows) error {
		if size > pageBytes {
			return errPageFull
		}
		e, n, err := scanEvent(r)
		if err != nil {
			return err
		}
		size += n
		page = append(page, e)
		return nil
	})
	if errors.Is(err, errPageFull) {
		err = nil
	}
	return page, err
}

// idPage is how many i_events EachIEvent reads from the database at once.
const idPage = 4096

// EachIEvent calls fn with every i_event the journal holds, in ascending
// order, a page at a time (fn runs without holding the database): a
// comparison with another record of the run costs one page of memory,
// not the journal's size.
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

// RejectFilter selects rejections; the zero value selects all.
type RejectFilter struct {
	Since time.Time
	Limit int // the newest Limit; 0 = all
}

// EachRejection calls fn for each rejection f selects, oldest first, a
// page at a time.
func (j *Journal) EachRejection(ctx context.Context, f RejectFilter, fn func(*Rejection) error) error {
	start := int64(-1 << 63)
	if f.Limit > 0 {
		// The newest Limit rows: start at the Limit-th id from the end.
		// Fewer rows than Limit: all of them (start stays before the first).
		q := `SELECT id - 1 FROM rejections WHERE at >= ? ORDER BY id DESC LIMIT 1 OFFSET ?`
		err := j.query(ctx, q, []any{sinceNanos(f.Since), f.Limit - 1}, func(r *sql.Rows) error { return r.Scan(&start) })
		if err != nil {
			return err
		}
	}
	for {
		page, last, err := j.rejectionPage(ctx, f.Since, start)
		if err != nil || len(page) == 0 {
			return err
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		start = last
	}
}

// Rejections lists the journal's rejections, oldest first.
func (j *Journal) Rejections(ctx context.Context, f RejectFilter) ([]Rejection, error) {
	var out []Rejection
	err := j.EachRejection(ctx, f, func(r *Rejection) error {
		out = append(out, *r)
		return nil
	})
	return out, err
}

func sinceNanos(t time.Time) int64 {
	if t.IsZero() {
		return -1 << 63
	}
	return t.UnixNano()
}

func (j *Journal) rejectionPage(ctx context.Context, since time.Time, after int64) ([]Rejection, int64, error) {
	c := func(name string) string { return j.col("rejections", name) }
	q := `SELECT id, at, i_event, event_type, status, auth_scheme, auth, reason, ` + c("remote") + `, ` + c("body") + `, ` +
		c("body_size") + `, ` + c("headers") + `, ` + c("forward_status") + `, ` + c("forward_ms") + `, ` + c("forward_error") +
		` FROM rejections WHERE id > ? AND at >= ? ORDER BY id LIMIT ?`
	var page []Rejection
	last, size := after, 0
	err := j.query(ctx, q, []any{after, sinceNanos(since), pageRows}, func(r *sql.Rows) error {
		if size > pageBytes {
			return errPageFull
		}
		var x Rejection
		var at int64
		var iev, bodySize, fs sql.NullInt64
		var remote, hdrs, ferr sql.NullString
		var fms sql.NullFloat64
		if err := r.Scan(&last, &at, &iev, &x.Type, &x.Status, &x.AuthScheme, &x.Auth, &x.Reason, &remote, &x.Body,
			&bodySize, &hdrs, &fs, &fms, &ferr); err != nil {
			return fmt.Errorf("read journal: %w", err)
		}
		x.Time = time.Unix(0, at).UTC()
		if iev.Valid {
			x.IEvent = &iev.Int64
		}
		x.Remote, x.Headers, x.ForwardError = remote.String, parseHeaders(hdrs), ferr.String
		x.BodySize = max(bodySize.Int64, int64(len(x.Body)))
		x.ForwardStatus, x.ForwardMS = nullInt(fs), nullFloat(fms)
		size += len(x.Body) + len(hdrs.String) + len(x.Reason) + 256
		page = append(page, x)
		return nil
	})
	if errors.Is(err, errPageFull) {
		err = nil
	}
	return page, last, err
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

// eventJSON is Event's JSON form: the stable field names.
type eventJSON struct {
	IEvent        int64               `json:"i_event"`
	Type          string              `json:"event_type"`
	Variables     json.RawMessage     `json:"variables"`
	Deliveries    int64               `json:"deliveries"`
	FirstDelivery time.Time           `json:"first_delivery"`
	LastDelivery  time.Time           `json:"last_delivery"`
	AuthScheme    string              `json:"auth_scheme"`
	Status        int                 `json:"status"`
	Flags         string              `json:"flags,omitempty"`
	Body          *string             `json:"body,omitempty"`
	BodyBase64    []byte              `json:"body_base64,omitempty"`
	Headers       map[string][]string `json:"headers,omitempty"`
	Remote        string              `json:"remote,omitempty"`
	ForwardStatus *int                `json:"forward_status,omitempty"`
	ForwardMS     *float64            `json:"forward_ms,omitempty"`
}

// MarshalJSON writes the event as valid UTF-8 JSON whatever the journal
// holds: the body as a string when it is valid UTF-8, else as
// body_base64, and invalid bytes in variables as U+FFFD.
func (e Event) MarshalJSON() ([]byte, error) {
	x := eventJSON{IEvent: e.IEvent, Type: e.Type, Variables: validJSON(e.Variables), Deliveries: e.Deliveries,
		FirstDelivery: e.FirstDelivery, LastDelivery: e.LastDelivery, AuthScheme: e.AuthScheme, Status: e.Status,
		Flags: e.Flags, Headers: e.Headers, Remote: e.Remote, ForwardStatus: e.ForwardStatus, ForwardMS: e.ForwardMS}
	x.Body, x.BodyBase64 = bodyFields(e.Body)
	return marshalNoHTML(x)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (e *Event) UnmarshalJSON(b []byte) error {
	var x eventJSON
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*e = Event{IEvent: x.IEvent, Type: x.Type, Variables: x.Variables, Deliveries: x.Deliveries,
		FirstDelivery: x.FirstDelivery, LastDelivery: x.LastDelivery, AuthScheme: x.AuthScheme, Status: x.Status,
		Flags: x.Flags, Headers: x.Headers, Remote: x.Remote, ForwardStatus: x.ForwardStatus, ForwardMS: x.ForwardMS,
		Body: x.BodyBase64}
	if x.Body != nil {
		e.Body = []byte(*x.Body)
	}
	return nil
}

type rejectionJSON struct {
	Time          time.Time           `json:"time"`
	IEvent        *int64              `json:"i_event"`
	Type          string              `json:"event_type,omitempty"`
	Status        int                 `json:"status"`
	AuthScheme    string              `json:"auth_scheme"`
	Auth          string              `json:"auth"`
	Reason        string              `json:"reason"`
	Remote        string              `json:"remote,omitempty"`
	Body          *string             `json:"body,omitempty"`
	BodyBase64    []byte              `json:"body_base64,omitempty"`
	BodySize      int64               `json:"body_size"`
	BodyTruncated bool                `json:"body_truncated,omitempty"`
	Headers       map[string][]string `json:"headers,omitempty"`
	ForwardStatus *int                `json:"forward_status,omitempty"`
	ForwardMS     *float64            `json:"forward_ms,omitempty"`
	ForwardError  string              `json:"forward_error,omitempty"`
}

// MarshalJSON writes the rejection as valid UTF-8 JSON (espfctl journal
// --rejected --json).
func (r Rejection) MarshalJSON() ([]byte, error) {
	x := rejectionJSON{Time: r.Time, IEvent: r.IEvent, Type: r.Type, Status: r.Status, AuthScheme: r.AuthScheme,
		Auth: r.Auth, Reason: r.Reason, Remote: r.Remote, BodySize: r.BodySize, BodyTruncated: r.Truncated(),
		Headers: r.Headers, ForwardStatus: r.ForwardStatus, ForwardMS: r.ForwardMS, ForwardError: r.ForwardError}
	x.Body, x.BodyBase64 = bodyFields(r.Body)
	return marshalNoHTML(x)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Rejection) UnmarshalJSON(b []byte) error {
	var x rejectionJSON
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*r = Rejection{Time: x.Time, IEvent: x.IEvent, Type: x.Type, Status: x.Status, AuthScheme: x.AuthScheme,
		Auth: x.Auth, Reason: x.Reason, Remote: x.Remote, BodySize: x.BodySize, Headers: x.Headers,
		ForwardStatus: x.ForwardStatus, ForwardMS: x.ForwardMS, ForwardError: x.ForwardError, Body: x.BodyBase64}
	if x.Body != nil {
		r.Body = []byte(*x.Body)
	}
	return nil
}

// bodyFields is the body as a JSON string when it is valid UTF-8 (its
// bytes exactly), else as base64; neither for no body.
func bodyFields(b []byte) (*string, []byte) {
	switch {
	case b == nil:
		return nil, nil
	case utf8.Valid(b):
		s := string(b)
		return &s, nil
	}
	return nil, b
}

// validJSON makes raw JSON safe to embed: invalid UTF-8 bytes (which can
// only be inside strings) become the escape \ufffd, and text that is not
// JSON at all (a damaged journal) becomes a JSON string.
func validJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	if !utf8.Valid(raw) {
		raw = json.RawMessage(strings.ToValidUTF8(string(raw), `\ufffd`))
	}
	if !json.Valid(raw) {
		s, _ := marshalNoHTML(string(raw))
		return s
	}
	return raw
}

func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// WriteJSONL writes events one JSON object per line.
func WriteJSONL(w io.Writer, evs []Event) error {
	enc := NewJSONL(w)
	for i := range evs {
		if err := enc.Encode(&evs[i]); err != nil {
			return err
		}
	}
	return nil
}

// NewJSONL is the encoder of journal lines: no HTML escaping, so bodies
// and variables read as they were received.
func NewJSONL(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}
