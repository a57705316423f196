package journal

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
)

// bodyChunk is how much of a body WriteBody reads at a time.
const bodyChunk = 256 << 10

// bodyReaders is how many GetHead and WriteBody calls read at once; the
// others wait their turn (or their context's end).
const bodyReaders = 4

// readBody takes a body reader's turn; release gives it back.
func (j *Journal) readBody(ctx context.Context) (release func(), err error) {
	select {
	case j.bodies <- struct{}{}:
		return func() { <-j.bodies }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("read journal: %w", ctx.Err())
	}
}

// GetHead is Get reading at most n bytes of the body (and the event's
// variables only when they are at most n bytes), so what a reader holds
// of one record is bounded whatever --max-body is. cut reports that the
// body was cut at n: then Body holds its first n bytes and BodySize its
// whole length as kept (WriteBody writes it all).
func (j *Journal) GetHead(ctx context.Context, kind Kind, id int64, n int) (rec *Record, cut bool, err error) {
	release, err := j.readBody(ctx)
	if err != nil {
		return nil, false, err
	}
	defer release()
	for _, s := range j.sources() {
		if s.kind != kind {
			continue
		}
		capture := strings.Split(s.capture, ", ") // body, body_size, headers, variables
		body := capture[0]
		if body != "NULL" {
			capture[0] = fmt.Sprintf("substr(%s, 1, %d)", body, n)
		}
		if capture[3] != "NULL" && body != "NULL" {
			// The variables are part of the body: a body of at most n
			// bytes has them whole. (length of a BLOB is read from the
			// row's header; of a TEXT, SQLite would read it all.)
			capture[3] = fmt.Sprintf("CASE WHEN length(%s) <= %d THEN %s END", body, n, capture[3])
		}
		length := "NULL"
		if body != "NULL" {
			length = "length(" + body + ")"
		}
		q := "SELECT " + s.cols + ", " + strings.Join(capture, ", ") + ", " + length + " FROM " + s.table + " WHERE " + s.id + " = ?"
		if s.where != "" {
			q += " AND " + s.where
		}
		err := j.query(ctx, q, []any{id}, func(r *sql.Rows) error {
			x, stored, err := scanHead(r, kind)
			if err != nil {
				return err
			}
			if stored > int64(len(x.Body)) {
				cut = true
				x.BodySize = max(x.BodySize, stored)
			}
			rec = &x
			return nil
		})
		if err != nil {
			return nil, false, err
		}
		if rec != nil {
			return rec, cut, nil
		}
	}
	return nil, false, fmt.Errorf("%s/%d: %w", kind, id, ErrNotFound)
}

// scanHead reads a row of GetHead's select list: scanRecord's columns and
// the body's stored length.
func scanHead(r *sql.Rows, kind Kind) (Record, int64, error) {
	var stored sql.NullInt64
	x, _, err := scanRecordExtra(r, kind, true, &stored)
	return x, stored.Int64, err
}

// WriteBody writes the body of one record, as the journal keeps it, to w,
// bodyChunk bytes at a time: memory stays bounded however large the body.
// It returns the bytes written.
func (j *Journal) WriteBody(ctx context.Context, kind Kind, id int64, w io.Writer) (int64, error) {
	release, err := j.readBody(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	for _, s := range j.sources() {
		if s.kind != kind {
			continue
		}
		body := strings.Split(s.capture, ", ")[0]
		if body == "NULL" {
			return 0, nil
		}
		q := "SELECT substr(" + body + ", ?, ?) FROM " + s.table + " WHERE " + s.id + " = ?"
		if s.where != "" {
			q += " AND " + s.where
		}
		var written int64
		for {
			var chunk []byte
			found := false
			err := j.query(ctx, q, []any{written + 1, bodyChunk, id}, func(r *sql.Rows) error {
				found = true
				return r.Scan(&chunk)
			})
			if err != nil {
				return written, err
			}
			if !found {
				if written == 0 {
					return 0, fmt.Errorf("%s/%d: %w", kind, id, ErrNotFound)
				}
				return written, fmt.Errorf("%s/%d: deleted while it was read: %w", kind, id, ErrNotFound)
			}
			if len(chunk) == 0 {
				return written, nil
			}
			m, err := w.Write(chunk)
			written += int64(m)
			if err != nil {
				return written, err
			}
			if len(chunk) < bodyChunk {
				return written, nil
			}
		}
	}
	return 0, fmt.Errorf("%s/%d: %w", kind, id, ErrNotFound)
}
