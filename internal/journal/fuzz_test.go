package journal_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/testutil"
)

// FuzzJournalReader writes arbitrary values into a journal's rows, as a
// damaged or hand-edited file could hold them, in the current and the
// first schema, and reads them back as journal does: no panic; the JSON
// lines are valid UTF-8 JSON; the table has one line of 8 columns per
// event and no control character; the raw views hold no control character
// but their own line breaks.
//
//	go test -run '^$' -fuzz FuzzJournalReader -fuzztime 60s ./internal/journal
func FuzzJournalReader(f *testing.F) {
	f.Add(int64(7615), "Subscriber/Created", `{"i_event":7615}`, []byte(`{"event_type":"Subscriber/Created"}`), `{"Date":["x"]}`, "127.0.0.1:1", "mismatch", int64(200), false)
	f.Add(int64(-1), "A/\x1b[2J\n", "{\"a\":\"\xff\"}", []byte("\xff\xfe"), `{"X":["\u001b"]}`, "\u202e", "bad\r\nline\t", int64(0), true)
	f.Add(int64(0), "", "not json", []byte(nil), "[1,2]", "", "", int64(1<<40), false)
	// One file per schema for the whole run: each input replaces the rows.
	files := map[bool]*fuzzJournal{false: newFuzzJournal(f, false), true: newFuzzJournal(f, true)}
	f.Fuzz(func(t *testing.T, id int64, typ, vars string, body []byte, headers, remote, reason string, status int64, oldSchema bool) {
		fj := files[oldSchema]
		fj.replace(t, id, typ, vars, body, headers, remote, reason, status)
		var jsonl, table, raw bytes.Buffer
		enc := journal.NewEncoder(&jsonl)
		tab := report.NewEventTable(&table, false)
		rows := 0
		q := journal.Query{Kinds: []journal.Kind{journal.First}, Oldest: true, Capture: true}
		err := fj.ro.Each(context.Background(), q, func(r *journal.Record) error {
			rows++
			if err := enc.Encode(r); err != nil {
				return err
			}
			if err := report.RawEvent(&raw, r); err != nil {
				return err
			}
			return tab.Write(r)
		})
		if err != nil && !strings.HasPrefix(err.Error(), "read journal:") {
			t.Fatalf("events: %v", err)
		}
		q.Kinds = []journal.Kind{journal.Rejected}
		err = fj.ro.Each(context.Background(), q, func(r *journal.Record) error {
			if err := enc.Encode(r); err != nil {
				return err
			}
			return report.RawRejection(&raw, r)
		})
		if err != nil && !strings.HasPrefix(err.Error(), "read journal:") {
			t.Fatalf("rejections: %v", err)
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(jsonl.Bytes(), []byte("\n")), []byte("\n")) {
			if len(line) > 0 && (!utf8.Valid(line) || !json.Valid(line)) {
				t.Fatalf("journal --json line is not valid UTF-8 JSON: %q", line)
			}
		}
		if got := strings.Count(table.String(), "\n"); got != rows {
			t.Fatalf("table has %d lines for %d events: %q", got, rows, table.String())
		}
		for _, l := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
			if rows > 0 && strings.Count(l, "\t") != 7 {
				t.Fatalf("table line %q: want 8 columns", l)
			}
		}
		text := table.String() + strings.ReplaceAll(raw.String(), "\n", "")
		if i := strings.IndexFunc(text, isControl); i >= 0 || !utf8.ValidString(text) {
			t.Fatalf("control character in text output: table %q raw %q", table.String(), raw.String())
		}
	})
}

func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x202e
}

// fuzzJournal is a journal file whose rows a fuzz input replaces, written
// with plain SQL (no validation), and the read-only journal over it.
type fuzzJournal struct {
	db  *sql.DB
	ro  *journal.Journal
	old bool
}

func newFuzzJournal(f *testing.F, old bool) *fuzzJournal {
	path := filepath.Join(f.TempDir(), "j.db")
	if !old {
		j, err := journal.Open(journal.Config{Path: path}) // the current schema
		if err != nil {
			f.Fatal(err)
		}
		if err := j.Close(); err != nil {
			f.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=synchronous(OFF)")
	if err != nil {
		f.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	f.Cleanup(func() { db.Close() })
	if old {
		if _, err := db.Exec(testutil.FirstJournalSchema); err != nil {
			f.Fatal(err)
		}
	}
	ro, err := journal.OpenReadOnly(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ro.Close() })
	return &fuzzJournal{db: db, ro: ro, old: old}
}

// replace makes the file hold one event and one rejection with the values.
func (fj *fuzzJournal) replace(t *testing.T, id int64, typ, vars string, body []byte, headers, remote, reason string, status int64) {
	t.Helper()
	tx, err := fj.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	exec := func(q string, args ...any) {
		if _, err := tx.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`DELETE FROM events`)
	exec(`DELETE FROM rejections`)
	if fj.old {
		exec(`INSERT INTO events VALUES(?, ?, ?, 1, ?, ?, ?, ?, ?)`, id, typ, vars, status, status, remote, status, reason)
		exec(`INSERT INTO rejections VALUES(1, ?, ?, ?, ?, ?, ?, ?)`, status, id, typ, status, remote, reason, reason)
	} else {
		exec(`INSERT INTO events(i_event, event_type, variables, deliveries, first_delivery, last_delivery, auth_scheme, status, flags, body, headers, remote, forward_status, forward_ms)
			VALUES(?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, typ, vars, status, status, remote, status, reason, body, headers, remote, status, float64(status)/3)
		exec(`INSERT INTO rejections(at, i_event, event_type, status, auth_scheme, auth, reason, remote, body, body_size, headers, forward_status, forward_ms, forward_error)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, status, id, typ, status, remote, reason, reason, remote, body, status, headers, status, 1.5, reason)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
