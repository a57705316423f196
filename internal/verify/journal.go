package verify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite: the binary stays static, no C toolchain
)

// ErrClosed is returned by Record after the journal was closed.
var ErrClosed = errors.New("journal closed")

// maxBatch bounds how many deliveries one group commit writes.
const maxBatch = 512

// rejectQueue is how many rejected deliveries may wait for the writer;
// beyond it a rejection is not journaled (counted as dropped), so that a
// flood of bad requests never holds up an answer.
const rejectQueue = 1024

// DefaultMaxRejected is how many rejected deliveries the journal keeps when
// JournalOptions.MaxRejected is 0; older ones are deleted and counted.
const DefaultMaxRejected = 1000

// DefaultMaxCopies is how many duplicate copies (the later deliveries of an
// event answered 200, each with its raw capture) the journal keeps when
// JournalOptions.MaxCopies is 0; older ones are deleted and counted. The
// events' deliveries count every 200 answer, kept or not.
const DefaultMaxCopies = 10000

// CopySlack is the chunk in which duplicate copies are deleted: once the
// journal holds n (JournalOptions.MaxCopies) + CopySlack(n) of them, the
// oldest are deleted back down to n in the transaction that added the
// last. It is max(n/16, 64): a flood of repeats pays one DELETE of that
// many rows every that many copies instead of one per commit, and between
// commits the journal holds n to n + CopySlack(n) - 1 of them.
func CopySlack(n int) int { return max(n/16, 64) }

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
// prepare adds the missing ones to an older journal, and a read-only
// journal reads NULL for them.
var addedColumns = map[string][]string{
	"events": {"body BLOB", "headers TEXT", "remote TEXT", "forward_status INTEGER", "forward_ms REAL", "entity TEXT"},
	"rejections": {"remote TEXT", "body BLOB", "body_size INTEGER", "headers TEXT",
		"forward_status INTEGER", "forward_ms REAL", "forward_error TEXT", "entity TEXT"},
}

// Entry is one delivery as the journal records it. Deliveries answered 200
// create or update their event; the others (rejected, faulted, refused by
// the Application) are appended to the rejections table with their reason.
type Entry struct {
	At         time.Time
	IEvent     int64 // valid when HasEvent
	HasEvent   bool
	Type       string
	Variables  json.RawMessage // the variables object as received
	AuthScheme string          // the scheme name, never a secret; "none" without auth
	Auth       string          // ok, failed, none
	Status     int
	Reason     string // why it was not answered 200, or catalog flags
	Flags      string // catalog flags, stored with the event
	Entity     string // the entity the event is about ("i_account=1000889"), searchable
	// Replay marks the inspector's replay of a delivery to the Application
	// (RecordReplay); Source names the row it replayed.
	Replay bool
	Source string

	// Raw capture. Remote is the sender's address; Body the bytes received
	// (for a rejection at most MaxRejectedBody of them, BodySize the whole
	// length); Headers the request's headers with credentials redacted.
	Remote   string
	Body     []byte
	BodySize int64
	Headers  Headers
	// The exchange with the Application (serve --forward-to); Forwarded is
	// false when the delivery was not forwarded. ForwardStatus is 0 when it
	// did not answer (ForwardError says why).
	Forwarded     bool
	ForwardStatus int
	ForwardMS     float64
	ForwardError  string
}

// Outcome is what a committed 200 delivery did to its event.
type Outcome struct {
	Deliveries int64 // deliveries of this i_event answered 200, this one included
	First      bool  // this delivery is the event's first successful one
}

// Filter selects events; the zero value selects all.
type Filter struct {
	Type  string    // exact event_type
	Since time.Time // first delivery at or after
	// After, when HasAfter, starts the listing after that i_event's place
	// in first-delivery order (the last i_event of the previous page).
	After    int64
	HasAfter bool
	Limit    int // at most this many; 0 = all
}

type pending struct {
	e    Entry
	done chan result // nil: nobody waits (a logged rejection)
}

type result struct {
	out Outcome
	id  int64 // the row written: the i_event of a first delivery, else the copy's or rejection's id
	err error
}

// JournalOptions tunes OpenJournalWith; the zero value is the defaults.
type JournalOptions struct {
	MaxRejected int // rejected deliveries kept; 0 = DefaultMaxRejected
	// MaxCopies is how many duplicate copies are kept (0 =
	// DefaultMaxCopies), give or take CopySlack: the oldest beyond it
	// are deleted and counted. The inspector's replays are never deleted.
	MaxCopies int
	// Scratch marks a file journal that its owner deletes when it is done
	// (run's built-in receiver): commits are not flushed to the disk
	// (synchronous=OFF), since no crash can leave anything to recover in a
	// file that is deleted anyway, and the raw capture (body, headers) is
	// not kept, since nobody can read it. Every delivery is still answered
	// only after the transaction holding it committed, and the first
	// delivery of an i_event is still decided by the database. The file
	// keeps memory flat however many events arrive, where an in-memory
	// journal grows with each. It has no listing indexes either: its
	// owner reads it only by i_event.
	Scratch bool
}

// Journal is the SQLite event journal. One writer goroutine group-commits
// pending deliveries on its own connection: each waiting Record returns
// only after the transaction holding its delivery committed. Rejected
// deliveries are queued apart and never make a request wait.
type Journal struct {
	db       *sql.DB
	conn     *sql.Conn // the writer's; nil when read-only
	stmts    map[string]*sql.Stmt
	connMu   sync.Mutex
	memory   bool
	scratch  bool // JournalOptions.Scratch: no raw capture kept
	path     string
	reqs     chan pending
	rejects  chan pending
	done     chan struct{}
	mu       sync.RWMutex // guards closed against sends on reqs
	closed   bool
	once     sync.Once
	err      error
	missing  map[string]bool // columns an older read-only journal lacks
	rej      bounded         // the rejections
	dup      bounded         // the duplicate copies
	commits  atomic.Int64
	rows     atomic.Int64
	overflow atomic.Int64 // rejections not queued since the last commit
	feed     feed         // the committed rows, for live views (Subscribe)
	tally    tally        // what the journal holds, counted (Counts)
}

// JournalStats counts the group commits so far.
type JournalStats struct {
	Commits int64 `json:"commits"` // transactions committed
	Rows    int64 `json:"rows"`    // deliveries written in them
	// RejectionsDropped counts rejected deliveries this process did not
	// keep: pruned beyond MaxRejected, or not queued in a flood.
	RejectionsDropped int64 `json:"rejections_dropped"`
	// CopiesDropped counts the duplicate copies this process deleted
	// beyond MaxCopies.
	CopiesDropped int64 `json:"copies_dropped"`
}

// Stats returns how many transactions and deliveries were committed.
func (j *Journal) Stats() JournalStats {
	return JournalStats{Commits: j.commits.Load(), Rows: j.rows.Load(), RejectionsDropped: j.rej.dropped.Load(),
		CopiesDropped: j.dup.dropped.Load()}
}

// OpenJournal opens (creating if needed) the journal at path in WAL mode
// with synchronous=FULL; "" opens a private in-memory journal.
func OpenJournal(path string) (*Journal, error) { return OpenJournalWith(path, JournalOptions{}) }

// OpenJournalWith is OpenJournal with options.
func OpenJournalWith(path string, o JournalOptions) (*Journal, error) {
	dsn := "file::memory:"
	if path != "" {
		sync := "FULL"
		if o.Scratch {
			sync = "OFF"
		}
		dsn = "file:" + (&url.URL{Path: path}).EscapedPath() +
			"?_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")&_pragma=busy_timeout(5000)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", display(path), err)
	}
	if o.MaxRejected <= 0 {
		o.MaxRejected = DefaultMaxRejected
	}
	if o.MaxCopies <= 0 {
		o.MaxCopies = DefaultMaxCopies
	}
	j := &Journal{db: db, path: path, memory: path == "", scratch: o.Scratch && path != "",
		rej: bounded{what: "rejections", keep: int64(o.MaxRejected), prune: "prune", count: "drop", statuses: true},
		dup: bounded{what: "duplicate copies", keep: int64(o.MaxCopies), slack: int64(CopySlack(o.MaxCopies)),
			prune: "prune copies", count: "drop copies"},
		reqs: make(chan pending, maxBatch), rejects: make(chan pending, rejectQueue), done: make(chan struct{})}
	if err := j.prepare(); err != nil {
		j.closeDB()
		return nil, fmt.Errorf("open journal %s: %w", display(path), err)
	}
	go j.writer()
	return j, nil
}

func (j *Journal) prepare() error {
	if j.memory {
		j.db.SetMaxOpenConns(1) // every connection to :memory: is its own database
	}
	ctx := context.Background()
	var err error
	if j.conn, err = j.db.Conn(ctx); err != nil {
		return err
	}
	if j.memory {
		// An in-memory database keeps every page in SQLite's page cache,
		// and with the default 4 KiB pages each commit grew slower with
		// the journal's size (pcache1Truncate's walk of the cache: 12–16
		// µs per delivery at 400,000 events, a sixth of the request's
		// CPU). With 16 KiB pages it stays flat (BENCHMARKS.md, issue 14).
		if _, err := j.conn.ExecContext(ctx, "PRAGMA page_size = 16384"); err != nil {
			return err
		}
		// No rollback journal: an in-memory database has nothing to
		// recover after a crash, and its default MEMORY journal copied
		// every page a commit touched (16 KiB each, four B-trees per
		// event): 6 µs of a delivery's 44. What it costs: a transaction
		// that fails half-way (only when memory runs out) keeps what it
		// wrote. Its deliveries were answered 500, never 200, and a
		// re-send of one that was written is answered as a repeat: still
		// one first delivery per i_event.
		if _, err := j.conn.ExecContext(ctx, "PRAGMA journal_mode = OFF"); err != nil {
			return err
		}
	}
	if _, err := j.conn.ExecContext(ctx, schema); err != nil {
		return err
	}
	if !j.memory {
		var mode string
		if err := j.conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("WAL mode not available (got %q): %v", mode, err)
		}
	}
	if err := j.migrate(ctx); err != nil {
		return err
	}
	j.stmts = map[string]*sql.Stmt{}
	for name, q := range map[string]string{"add": insertEvent, "rep": repeatEvent, "ins": insertRejection,
		"begin": "BEGIN IMMEDIATE", "commit": "COMMIT", "prune": pruneRejections, "drop": addDropped, "copy": insertCopy,
		"prune copies": pruneCopies, "drop copies": addCopiesDropped} {
		if j.stmts[name], err = j.conn.PrepareContext(ctx, q); err != nil {
			return err
		}
	}
	if err := j.countBounded(ctx); err != nil {
		return err
	}
	// A journal written with a larger bound (or before there was one) is
	// cut down now, before the first delivery waits on it.
	if err := j.pruneAtOpen(ctx); err != nil {
		return err
	}
	return j.loadCounts(ctx, j.conn)
}

// migrate adds the columns, the table and the indexes that an older
// journal lacks.
func (j *Journal) migrate(ctx context.Context) error {
	for table, cols := range addedColumns {
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
	return j.migrateRows(ctx)
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

func (j *Journal) closeDB() error {
	for _, st := range j.stmts {
		st.Close()
	}
	if j.conn != nil {
		j.conn.Close()
	}
	return j.db.Close()
}

func display(path string) string {
	if path == "" {
		return "(in memory)"
	}
	return path
}

// Path is the journal's file, or "" in memory.
func (j *Journal) Path() string { return j.path }

// MaxRejected is how many rejected deliveries the journal keeps.
func (j *Journal) MaxRejected() int { return int(j.rej.keep) }

// MaxCopies is how many duplicate copies the journal keeps (give or take
// CopySlack).
func (j *Journal) MaxCopies() int { return int(j.dup.keep) }

// Record commits a delivery answered 200 and reports whether it was the
// event's first. It returns only after the commit (or its failure).
func (j *Journal) Record(e Entry) (Outcome, error) {
	done := make(chan result, 1)
	j.mu.RLock()
	if j.closed {
		j.mu.RUnlock()
		return Outcome{}, ErrClosed
	}
	j.reqs <- pending{e: e, done: done}
	j.mu.RUnlock()
	r := <-done
	return r.out, r.err
}

// Log appends a delivery that was not answered 200 to the rejections
// table without waiting for the commit. When the writer is behind by
// rejectQueue rejections, the entry is dropped and counted instead:
// a flood of bad requests never holds up an answer.
func (j *Journal) Log(e Entry) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.closed {
		return
	}
	select {
	case j.rejects <- pending{e: e}:
	default:
		j.overflow.Add(1)
		j.rej.dropped.Add(1)
	}
}

// Close commits what is pending and closes the database.
func (j *Journal) Close() error {
	j.once.Do(func() {
		j.mu.Lock()
		if !j.closed {
			j.closed = true
			close(j.reqs)
			close(j.rejects)
		}
		j.mu.Unlock()
		<-j.done
		j.err = j.closeDB()
	})
	return j.err
}

// OpenJournalReadOnly opens an existing journal file for listing.
func OpenJournalReadOnly(path string) (*Journal, error) {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'events'`).Scan(&n); err != nil || n == 0 {
		db.Close()
		return nil, fmt.Errorf("open journal %s: not an espfctl journal", path)
	}
	j := &Journal{db: db, path: path, closed: true, done: make(chan struct{}), missing: map[string]bool{}}
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'copies'`).Scan(&n); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j.missing["copies"] = n == 0
	for table, cols := range addedColumns {
		have, err := columns(context.Background(), db, table)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open journal %s: %w", path, err)
		}
		for _, col := range cols {
			name, _, _ := strings.Cut(col, " ")
			j.missing[table+"."+name] = !have[name]
		}
	}
	close(j.done)
	j.reqs, j.rejects = make(chan pending), make(chan pending)
	close(j.reqs)
	close(j.rejects)
	return j, nil
}

// query runs a read: on the writer's connection for an in-memory journal
// (its only one), else on the pool. fn must not block on anything but the
// rows: the in-memory journal's writer waits meanwhile.
func (j *Journal) query(ctx context.Context, q string, args []any, fn func(*sql.Rows) error) error {
	var rows *sql.Rows
	var err error
	if j.memory {
		j.connMu.Lock()
		defer j.connMu.Unlock()
		rows, err = j.conn.QueryContext(ctx, q, args...)
	} else {
		rows, err = j.db.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	return nil
}

// col is a column of table for a SELECT: the name, or NULL when an older
// journal lacks it.
func (j *Journal) col(table, name string) string {
	if j.missing[table+"."+name] {
		return "NULL"
	}
	return name
}

// Has reports whether i_event was answered 200 before.
func (j *Journal) Has(ctx context.Context, iEvent int64) (bool, error) {
	found := false
	err := j.query(ctx, `SELECT 1 FROM events WHERE i_event = ?`, []any{iEvent}, func(*sql.Rows) error {
		found = true
		return nil
	})
	return found, err
}

// delivered is Has for the fault injector: a journal it cannot read counts
// as not delivered (the event is failed as if new).
func (j *Journal) delivered(iEvent int64) bool {
	ok, _ := j.Has(context.Background(), iEvent)
	return ok
}

// RejectionsDropped is how many rejected deliveries the journal did not
// keep, over its whole life (pruned beyond the limit, or not queued).
func (j *Journal) RejectionsDropped(ctx context.Context) (int64, error) {
	return j.metaCount(ctx, "rejections_dropped")
}

// CopiesDropped is how many duplicate copies the journal deleted beyond
// its limit, over its whole life. Their events' deliveries still count
// them.
func (j *Journal) CopiesDropped(ctx context.Context) (int64, error) {
	return j.metaCount(ctx, "copies_dropped")
}

// metaCount reads a count of the meta table; 0 when it has none.
func (j *Journal) metaCount(ctx context.Context, key string) (int64, error) {
	var n int64
	err := j.query(ctx, `SELECT value FROM meta WHERE key = ?`, []any{key}, func(r *sql.Rows) error {
		return r.Scan(&n)
	})
	if err != nil && j.conn == nil && strings.Contains(err.Error(), "no such table") {
		return 0, nil // a journal from before the meta table
	}
	return n, err
}
