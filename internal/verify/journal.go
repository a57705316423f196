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
);`

// Entry is one delivery as the journal records it. Deliveries answered 200
// create or update their event; the others (rejected, faulted) are
// appended to the rejections table with their reason.
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
}

// Outcome is what a committed 200 delivery did to its event.
type Outcome struct {
	Deliveries int64 // deliveries of this i_event answered 200, this one included
	First      bool  // this delivery is the event's first successful one
}

// Event is one journal row: an i_event answered 200 at least once. The JSON
// field names are a stable interface (espfctl journal --json, GET /events).
type Event struct {
	IEvent        int64           `json:"i_event"`
	Type          string          `json:"event_type"`
	Variables     json.RawMessage `json:"variables"`
	Deliveries    int64           `json:"deliveries"`
	FirstDelivery time.Time       `json:"first_delivery"`
	LastDelivery  time.Time       `json:"last_delivery"`
	AuthScheme    string          `json:"auth_scheme"`
	Status        int             `json:"status"`
	Flags         string          `json:"flags,omitempty"`
}

// Filter selects events; the zero value selects all.
type Filter struct {
	Type  string    // exact event_type
	Since time.Time // first delivery at or after
}

type pending struct {
	e    Entry
	done chan result // nil: nobody waits (a logged rejection)
}

type result struct {
	out Outcome
	err error
}

// Journal is the SQLite event journal. One writer goroutine group-commits
// pending deliveries on its own connection: each waiting Record returns
// only after the transaction holding its delivery committed.
type Journal struct {
	db            *sql.DB
	conn          *sql.Conn // the writer's; nil when read-only
	add           *sql.Stmt // prepared once on conn
	rep           *sql.Stmt
	ins           *sql.Stmt
	begin, commit *sql.Stmt
	connMu        sync.Mutex
	memory        bool
	path          string
	reqs          chan pending
	done          chan struct{}
	mu            sync.RWMutex // guards closed against sends on reqs
	closed        bool
	once          sync.Once
	err           error
	commits, rows atomic.Int64
}

// JournalStats counts the group commits so far.
type JournalStats struct {
	Commits int64 `json:"commits"` // transactions committed
	Rows    int64 `json:"rows"`    // deliveries written in them
}

// Stats returns how many transactions and deliveries were committed.
func (j *Journal) Stats() JournalStats {
	return JournalStats{Commits: j.commits.Load(), Rows: j.rows.Load()}
}

// OpenJournal opens (creating if needed) the journal at path in WAL mode
// with synchronous=FULL; "" opens a private in-memory journal.
func OpenJournal(path string) (*Journal, error) {
	dsn := "file::memory:"
	if path != "" {
		dsn = "file:" + (&url.URL{Path: path}).EscapedPath() +
			"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", display(path), err)
	}
	j := &Journal{db: db, path: path, memory: path == "", reqs: make(chan pending, maxBatch), done: make(chan struct{})}
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
	if _, err := j.conn.ExecContext(ctx, schema); err != nil {
		return err
	}
	if !j.memory {
		var mode string
		if err := j.conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("WAL mode not available (got %q): %v", mode, err)
		}
	}
	if j.add, err = j.conn.PrepareContext(ctx, insertEvent); err != nil {
		return err
	}
	if j.rep, err = j.conn.PrepareContext(ctx, repeatEvent); err != nil {
		return err
	}
	if j.begin, err = j.conn.PrepareContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if j.commit, err = j.conn.PrepareContext(ctx, "COMMIT"); err != nil {
		return err
	}
	j.ins, err = j.conn.PrepareContext(ctx, insertRejection)
	return err
}

func (j *Journal) closeDB() error {
	for _, st := range []*sql.Stmt{j.add, j.rep, j.ins, j.begin, j.commit} {
		if st != nil {
			st.Close()
		}
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

// Record commits a delivery answered 200 and reports whether it was the
// event's first. It returns only after the commit (or its failure).
func (j *Journal) Record(e Entry) (Outcome, error) {
	done := make(chan result, 1)
	if err := j.enqueue(pending{e: e, done: done}); err != nil {
		return Outcome{}, err
	}
	r := <-done
	return r.out, r.err
}

// Log appends a delivery that was not answered 200 to the rejections
// table without waiting for the commit.
func (j *Journal) Log(e Entry) { _ = j.enqueue(pending{e: e}) }

func (j *Journal) enqueue(p pending) error {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.closed {
		return ErrClosed
	}
	j.reqs <- p
	return nil
}

// Close commits what is pending and closes the database.
func (j *Journal) Close() error {
	j.once.Do(func() {
		j.mu.Lock()
		if !j.closed {
			j.closed = true
			close(j.reqs)
		}
		j.mu.Unlock()
		<-j.done
		j.err = j.closeDB()
	})
	return j.err
}

// Events lists the journal's events in first-delivery order.
func (j *Journal) Events(ctx context.Context, f Filter) ([]Event, error) {
	q := `SELECT i_event, event_type, variables, deliveries, first_delivery, last_delivery, auth_scheme, status, flags FROM events WHERE 1=1`
	var args []any
	if f.Type != "" {
		q += ` AND event_type = ?`
		args = append(args, f.Type)
	}
	if !f.Since.IsZero() {
		q += ` AND first_delivery >= ?`
		args = append(args, f.Since.UnixNano())
	}
	q += ` ORDER BY first_delivery, i_event`
	var rows *sql.Rows
	var err error
	if j.memory {
		j.connMu.Lock() // the writer's connection is the only one
		defer j.connMu.Unlock()
		rows, err = j.conn.QueryContext(ctx, q, args...)
	} else {
		rows, err = j.db.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var vars string
		var first, last int64
		if err := rows.Scan(&e.IEvent, &e.Type, &vars, &e.Deliveries, &first, &last, &e.AuthScheme, &e.Status, &e.Flags); err != nil {
			return nil, fmt.Errorf("read journal: %w", err)
		}
		e.Variables = json.RawMessage(vars)
		e.FirstDelivery = time.Unix(0, first).UTC()
		e.LastDelivery = time.Unix(0, last).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	return out, nil
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
	j := &Journal{db: db, path: path, closed: true, done: make(chan struct{})}
	close(j.done)
	j.reqs = make(chan pending)
	close(j.reqs)
	return j, nil
}
