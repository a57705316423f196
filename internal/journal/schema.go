package journal

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// The schema. events holds one row per i_event answered 200 (its first
// delivery, with a count of all of them), rejections the requests not
// answered 200, copies the later deliveries answered 200 (kind duplicate)
// and the inspector's replays (kind replay). A Record is a row of any of
// the three (sources.go).
const schema = `
CREATE TABLE IF NOT EXISTS events (
	i_event        INTEGER PRIMARY KEY,
	event_type     TEXT    NOT NULL,
	variables      TEXT    NOT NULL,
	deliveries     INTEGER NOT NULL,
	first_delivery INTEGER NOT NULL,
	last_delivery  INTEGER NOT NULL,
	auth_scheme    TEXT    NOT NULL,
	status         INTEGER NOT NULL,
	flags          TEXT    NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS rejections (
	id          INTEGER PRIMARY KEY,
	at          INTEGER NOT NULL,
	i_event     INTEGER,
	event_type  TEXT    NOT NULL,
	status      INTEGER NOT NULL,
	auth_scheme TEXT    NOT NULL,
	auth        TEXT    NOT NULL,
	reason      TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES('rejections_dropped', 0);
INSERT OR IGNORE INTO meta(key, value) VALUES('copies_dropped', 0);`

// addedColumns are the columns later versions added to the first schema;
// migrate adds the missing ones to an older journal, and a read-only
// journal reads NULL for them.
func addedColumns() map[string][]string {
	return map[string][]string{
		"events": {"body BLOB", "headers TEXT", "remote TEXT", "forward_status INTEGER", "forward_ms REAL", "entity TEXT", "forward_answer TEXT"},
		"rejections": {"remote TEXT", "body BLOB", "body_size INTEGER", "headers TEXT",
			"forward_status INTEGER", "forward_ms REAL", "forward_error TEXT", "entity TEXT", "forward_answer TEXT"},
	}
}

const copiesSchema = `
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

// pragmas sets up the writer's connection: an in-memory journal's page
// size and journal mode, a file journal's check that WAL is on.
func (j *Journal) pragmas(ctx context.Context) error {
	if !j.memory {
		var mode string
		if err := j.conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("WAL mode not available (got %q): %v", mode, err)
		}
		return nil
	}
	// An in-memory database keeps every page in SQLite's page cache, and
	// with the default 4 KiB pages each commit grew slower with the
	// journal's size (pcache1Truncate's walk of the cache: 12–16 µs per
	// delivery at 400,000 events, a sixth of the request's CPU). With 16
	// KiB pages it stays flat (BENCHMARKS.md, issue 14).
	if _, err := j.conn.ExecContext(ctx, "PRAGMA page_size = 16384"); err != nil {
		return err
	}
	// No rollback journal: an in-memory database has nothing to recover
	// after a crash, and its default MEMORY journal copied every page a
	// commit touched (16 KiB each, four B-trees per event): 6 µs of a
	// delivery's 44. What it costs: a transaction that fails half-way
	// (only when memory runs out) keeps what it wrote. Its deliveries were
	// answered 500, never 200, and a re-send of one that was written is
	// answered as a repeat: still one first delivery per i_event.
	_, err := j.conn.ExecContext(ctx, "PRAGMA journal_mode = OFF")
	return err
}

// migrate creates the schema, or adds to an older journal the columns,
// the table and (unless the journal is a scratch one) the indexes it
// lacks, and marks the file as a journal (applicationID).
func (j *Journal) migrate(ctx context.Context) error {
	if _, err := j.conn.ExecContext(ctx, schema); err != nil {
		return err
	}
	if _, err := j.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return err
	}
	for table, cols := range addedColumns() {
		have, err := columns(ctx, j.conn, table)
		if err != nil {
			return err
		}
		for _, col := range cols {
			name, _, _ := strings.Cut(col, " ")
			if have[name] {
				continue
			}
			if _, err := j.conn.ExecContext(ctx, "ALTER TABLE "+table+" ADD COLUMN "+col); err != nil {
				return fmt.Errorf("add column %s.%s: %w", table, name, err)
			}
		}
	}
	if _, err := j.conn.ExecContext(ctx, copiesSchema); err != nil {
		return err
	}
	if j.scratch {
		return nil
	}
	_, err := j.conn.ExecContext(ctx, listingIndexes)
	return err
}

// missingParts is what a journal opened read-only lacks of the current
// schema: "copies" for the table, "table.column" for each added column.
// A file without an events table is not a journal.
func missingParts(ctx context.Context, db *sql.DB) (map[string]bool, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'events'`).Scan(&n); err != nil || n == 0 {
		return nil, fmt.Errorf("%w: it has no events table", ErrNotJournal)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'copies'`).Scan(&n); err != nil {
		return nil, err
	}
	missing := map[string]bool{"copies": n == 0}
	for table, cols := range addedColumns() {
		have, err := columns(ctx, db, table)
		if err != nil {
			return nil, err
		}
		for _, col := range cols {
			name, _, _ := strings.Cut(col, " ")
			missing[table+"."+name] = !have[name]
		}
	}
	return missing, nil
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// columns lists a table's column names.
func columns(ctx context.Context, q querier, table string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// col is a column of table for a SELECT: the name, or NULL when an older
// journal lacks it.
func (j *Journal) col(table, name string) string {
	if j.missing[table+"."+name] {
		return "NULL"
	}
	return name
}
