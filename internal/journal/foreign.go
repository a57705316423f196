package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// ErrNotJournal is returned by Open and OpenReadOnly for a file that is not
// an espfctl journal: not a SQLite database, or one with tables espfctl
// never wrote. Open leaves such a file as it found it.
var ErrNotJournal = errors.New("not an espfctl journal")

// applicationID marks a SQLite file as an espfctl journal ("ESPF", in the
// header's application_id, which `file` and sqlite3 show). Journals written
// before it are recognised by their tables (isJournal).
const applicationID = 0x45535046

// journalTables are the tables an espfctl journal has ever held: events
// and deliveries (the first release), rejections and meta, then copies.
func journalTables() map[string]bool {
	return map[string]bool{"events": true, "rejections": true, "meta": true, "copies": true, "deliveries": true}
}

// firstEventColumns are the columns of the events table since the first
// release: a table named events without them is someone else's.
func firstEventColumns() []string {
	return []string{"i_event", "event_type", "variables", "deliveries", "first_delivery", "last_delivery", "auth_scheme", "status"}
}

// checkForeign refuses to open, for writing, a file that exists and is not
// an espfctl journal, before anything touches it: opening it writable would
// switch it to WAL and add tables. It reads the file on a read-only
// connection. A missing or empty file is a new journal.
func checkForeign(path string) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 || !fi.Mode().IsRegular() {
		return nil // missing: created; not a regular file: SQLite says why
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	return isJournal(context.Background(), db)
}

// isJournal returns nil for an espfctl journal (marked, or shaped as one),
// or for a SQLite database with no tables at all, and an error wrapping
// ErrNotJournal for anything else.
func isJournal(ctx context.Context, db *sql.DB) error {
	var id int64
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id); err != nil {
		if strings.Contains(err.Error(), "not a database") {
			return fmt.Errorf("%w: not a SQLite database", ErrNotJournal)
		}
		return err
	}
	if id == applicationID {
		return nil
	}
	if id != 0 {
		return fmt.Errorf("%w: a SQLite database of another application (application_id %#x)", ErrNotJournal, id)
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(names) == 0 {
		return nil // an empty database: nothing in it to take over
	}
	known := journalTables()
	for _, n := range names {
		if !known[n] {
			return fmt.Errorf("%w: it has a table, view or trigger %q that espfctl never writes", ErrNotJournal, n)
		}
	}
	have, err := columns(ctx, db, "events")
	if err != nil {
		return err
	}
	for _, c := range firstEventColumns() {
		if !have[c] {
			return fmt.Errorf("%w: its events table has no column %s", ErrNotJournal, c)
		}
	}
	return nil
}
