package journal_test

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/testutil"
)

// TestOpenRefusesAForeignFile: a file that is not an espfctl journal (not
// SQLite; another application's database; one with a table named events
// of its own) is refused with ErrNotJournal, for writing and for reading,
// and left byte for byte as it was, with no WAL or shared-memory file
// beside it. A journal of the first schema, an empty file and an empty
// database are opened (and the first upgraded).
func TestOpenRefusesAForeignFile(t *testing.T) {
	t.Parallel()
	foreign := map[string]string{
		"users":  `CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES(1, 'ann');`,
		"events": `CREATE TABLE events(id INTEGER PRIMARY KEY, title TEXT); INSERT INTO events VALUES(1, 'launch');`,
		"extra":  testutil.FirstJournalSchema + `CREATE TABLE invoices(id INTEGER);`,
		"app_id": `PRAGMA application_id = 1234; CREATE TABLE events(i_event INTEGER);`,
	}
	for name, sqlText := range foreign {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := sqliteFile(t, sqlText)
			before := readFile(t, path)
			if j, err := journal.Open(journal.Config{Path: path}); !errors.Is(err, journal.ErrNotJournal) {
				if j != nil {
					j.Close()
				}
				t.Fatalf("Open of a foreign database: %v, want ErrNotJournal", err)
			}
			if j, err := journal.OpenReadOnly(path); !errors.Is(err, journal.ErrNotJournal) {
				if j != nil {
					j.Close()
				}
				t.Errorf("OpenReadOnly of a foreign database: %v, want ErrNotJournal", err)
			}
			unchanged(t, path, before)
		})
	}
	t.Run("text", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "notes.txt")
		if err := os.WriteFile(path, bytes.Repeat([]byte("a line of text, not a database\n"), 200), 0o644); err != nil {
			t.Fatal(err)
		}
		before := readFile(t, path)
		if _, err := journal.Open(journal.Config{Path: path}); !errors.Is(err, journal.ErrNotJournal) {
			t.Fatalf("Open of a text file: %v, want ErrNotJournal", err)
		}
		unchanged(t, path, before)
	})
	for name, sqlText := range map[string]string{"first schema": testutil.FirstJournalSchema, "empty database": `PRAGMA user_version = 0;`} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := sqliteFile(t, sqlText)
			j, err := journal.Open(journal.Config{Path: path})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			// Now marked: opened again, for reading and writing.
			ro, err := journal.OpenReadOnly(path)
			if err != nil {
				t.Fatalf("OpenReadOnly after the upgrade: %v", err)
			}
			ro.Close()
		})
	}
	t.Run("empty file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "new.db")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		j, err := journal.Open(journal.Config{Path: path})
		if err != nil {
			t.Fatalf("Open of an empty file: %v", err)
		}
		j.Close()
	})
}

func sqliteFile(t *testing.T, sqlText string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "their.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(sqlText); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unchanged(t *testing.T, path string, before []byte) {
	t.Helper()
	if after := readFile(t, path); !bytes.Equal(after, before) {
		t.Errorf("%s changed: %d bytes before, %d after", path, len(before), len(after))
	}
	for _, side := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(path + side); err == nil {
			t.Errorf("%s%s was created beside it", path, side)
		}
	}
}
