// Package journal is the receiver's durable record of what it received, in
// SQLite (modernc.org/sqlite: pure Go, the binary stays static). Every
// request is one Record, whatever became of it: an event's first delivery
// answered 200, a later delivery of it answered 200 (a duplicate), a
// delivery not answered 200 (a rejection), or the inspector's replay of one
// to the Application. Records are written through one batched commit path
// (Commit, Log, CommitReplay) and read through one query API (Query with
// Page, Each and Get), with the helpers its readers need (EachIEvent, Has,
// Attempts, Counts, Subscribe). The record's JSON forms live beside it
// (json.go): espfctl journal --json, GET /events, what send --events replays.
//
// The journal knows nothing of HTTP or of the checks: the receiver
// (internal/verify) decides what a request was and what of it to keep, and
// hands the journal a Record.
package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	_ "modernc.org/sqlite" // pure-Go SQLite: the binary stays static, no C toolchain
)

// ErrClosed is returned by Commit and CommitReplay after the journal was
// closed, and by every write to a read-only journal.
var ErrClosed = errors.New("journal closed")

// maxBatch bounds how many records one group commit writes.
const maxBatch = 512

// rejectQueue is how many rejections may wait for the writer; beyond it a
// rejection is not journaled (counted as dropped), so that a flood of bad
// requests never holds up an answer.
const rejectQueue = 1024

// DefaultMaxRejected is how many rejections the journal keeps when
// Config.MaxRejected is 0; older ones are deleted and counted.
const DefaultMaxRejected = 1000

// DefaultMaxCopies is how many duplicates (the later deliveries of an
// event answered 200, each with its raw capture) the journal keeps when
// Config.MaxCopies is 0; older ones are deleted and counted. The events'
// deliveries count every 200 answer, kept or not.
const DefaultMaxCopies = 10000

// CopySlack is the chunk in which duplicates are deleted: once the journal
// holds n (Config.MaxCopies) + CopySlack(n) of them, the oldest are
// deleted back down to n in the transaction that added the last. It is
// max(n/16, 64): a flood of repeats pays one DELETE of that many rows
// every that many copies instead of one per commit, and between commits
// the journal holds n to n + CopySlack(n) - 1 of them.
func CopySlack(n int) int { return max(n/16, 64) }

// Config configures Open; the zero value is a private in-memory journal
// with the default bounds.
type Config struct {
	Path        string // the database file, created if needed; "" = in memory
	MaxRejected int    // rejections kept; 0 = DefaultMaxRejected
	// MaxCopies is how many duplicates are kept (0 = DefaultMaxCopies),
	// give or take CopySlack: the oldest beyond it are deleted and
	// counted. The inspector's replays are never deleted.
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
	// OnWriteError, when set, is told when the journal stops being able to
	// write (a commit failed: a full disk, a read-only file; err is why)
	// and when it can again (err nil): once per change, from the writer
	// goroutine, so it must not block. WriteFailure says the same on
	// demand.
	OnWriteError func(err error)
}

// Journal is the SQLite journal. One writer goroutine group-commits
// pending records on its own connection: each waiting Commit returns only
// after the transaction holding its record committed. Rejections are
// queued apart and never make a request wait.
type Journal struct {
	db       *sql.DB
	conn     *sql.Conn // the writer's; nil when read-only
	stmts    map[string]*sql.Stmt
	connMu   sync.Mutex
	memory   bool
	scratch  bool // Config.Scratch: no raw capture kept
	path     string
	reqs     chan pending
	rejects  chan pending
	done     chan struct{}
	mu       sync.RWMutex // guards closed against sends on reqs
	closed   bool
	once     sync.Once
	err      error
	missing  map[string]bool // columns (and the copies table) an older read-only journal lacks
	rej      bounded         // the rejections
	dup      bounded         // the duplicates
	commits  atomic.Int64
	rows     atomic.Int64
	overflow atomic.Int64                 // rejections not queued since the last commit
	feed     feed                         // the committed records, for live views (Subscribe)
	tally    tally                        // what the journal holds, counted (Counts)
	failing  atomic.Pointer[writeFailure] // the commits fail now (WriteFailure), or nil
	// bodies bounds the reads of large bodies (GetHead, WriteBody) at
	// once: each holds a database connection whose page cache fills as it
	// walks the body's pages.
	bodies chan struct{}
	// onWriteError is Config.OnWriteError.
	onWriteError func(error)
}

// Stats counts the group commits so far, in this process.
type Stats struct {
	Commits int64 `json:"commits"` // transactions committed
	Rows    int64 `json:"rows"`    // records written in them
	// RejectionsDropped counts rejections this process did not keep:
	// pruned beyond MaxRejected, or not queued in a flood.
	RejectionsDropped int64 `json:"rejections_dropped"`
	// CopiesDropped counts the duplicates this process deleted beyond
	// MaxCopies.
	CopiesDropped int64 `json:"copies_dropped"`
}

// Stats returns how many transactions and records were committed.
func (j *Journal) Stats() Stats {
	return Stats{Commits: j.commits.Load(), Rows: j.rows.Load(), RejectionsDropped: j.rej.dropped.Load(),
		CopiesDropped: j.dup.dropped.Load()}
}

// Open opens (creating if needed) the journal cfg names: a file in WAL
// mode with synchronous=FULL (OFF for a scratch one), or a private
// in-memory journal. A journal written by an earlier version is upgraded;
// a file that is not a journal is refused (ErrNotJournal) and left as it
// is.
func Open(cfg Config) (*Journal, error) {
	path := cfg.Path
	dsn := "file::memory:"
	if path != "" {
		if err := checkForeign(path); err != nil {
			return nil, fmt.Errorf("open journal %s: %w", path, err)
		}
		sync := "FULL"
		if cfg.Scratch {
			sync = "OFF"
		}
		dsn = "file:" + (&url.URL{Path: path}).EscapedPath() +
			"?_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")&_pragma=busy_timeout(5000)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", display(path), err)
	}
	if cfg.MaxRejected <= 0 {
		cfg.MaxRejected = DefaultMaxRejected
	}
	if cfg.MaxCopies <= 0 {
		cfg.MaxCopies = DefaultMaxCopies
	}
	j := &Journal{db: db, path: path, memory: path == "", scratch: cfg.Scratch && path != "",
		rej: bounded{what: "rejections", keep: int64(cfg.MaxRejected), prune: "prune", count: "drop", statuses: true},
		dup: bounded{what: "duplicate copies", keep: int64(cfg.MaxCopies), slack: int64(CopySlack(cfg.MaxCopies)),
			prune: "prune copies", count: "drop copies"},
		reqs: make(chan pending, maxBatch), rejects: make(chan pending, rejectQueue), done: make(chan struct{}),
		onWriteError: cfg.OnWriteError, bodies: make(chan struct{}, bodyReaders)}
	if err := j.prepare(); err != nil {
		j.closeDB()
		return nil, fmt.Errorf("open journal %s: %w", display(path), err)
	}
	go j.writer()
	return j, nil
}

// prepare readies a writable journal: the pragmas, the schema and its
// upgrades, the statements, the bounds and the counts.
func (j *Journal) prepare() error {
	if j.memory {
		j.db.SetMaxOpenConns(1) // every connection to :memory: is its own database
	}
	ctx := context.Background()
	var err error
	if j.conn, err = j.db.Conn(ctx); err != nil {
		return err
	}
	if err := j.pragmas(ctx); err != nil {
		return err
	}
	if err := j.migrate(ctx); err != nil {
		return err
	}
	j.stmts = map[string]*sql.Stmt{}
	for name, q := range statements() {
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

// OpenReadOnly opens an existing journal file for reading, as it is: an
// older journal is read without being upgraded (what it lacks reads as
// empty). It may be read while serve writes it.
func OpenReadOnly(path string) (*Journal, error) {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if err := isJournal(context.Background(), db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	missing, err := missingParts(context.Background(), db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j := &Journal{db: db, path: path, closed: true, done: make(chan struct{}), missing: missing, bodies: make(chan struct{}, bodyReaders)}
	close(j.done)
	j.reqs, j.rejects = make(chan pending), make(chan pending)
	close(j.reqs)
	close(j.rejects)
	return j, nil
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

// Scratch reports whether the journal keeps no raw capture (Config.Scratch):
// its writer need not capture the headers.
func (j *Journal) Scratch() bool { return j.scratch }

// MaxRejected is how many rejections the journal keeps.
func (j *Journal) MaxRejected() int { return int(j.rej.keep) }

// MaxCopies is how many duplicates the journal keeps (give or take
// CopySlack).
func (j *Journal) MaxCopies() int { return int(j.dup.keep) }

// KeepsCopies reports whether the journal has the copies table: a journal
// written before it counts an event's duplicates but keeps none of them.
func (j *Journal) KeepsCopies() bool { return !j.missing["copies"] }

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

// isMissingTable reports whether err is a read of a table an older
// read-only journal does not have.
func (j *Journal) isMissingTable(err error) bool {
	return err != nil && j.conn == nil && strings.Contains(err.Error(), "no such table")
}
