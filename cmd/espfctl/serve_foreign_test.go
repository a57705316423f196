package main

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJournalFlagRefusesAForeignFile: serve --journal, and journal, given
// another application's SQLite database exit 2 with a message naming the
// file and why, and leave the file byte for byte as it was.
func TestJournalFlagRefusesAForeignFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "crm.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE events(id INTEGER PRIMARY KEY, title TEXT); INSERT INTO events VALUES(1, 'launch');`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"serve", "--no-auth", "--listen", "127.0.0.1:0", "--journal", path},
		{"journal", path},
	} {
		code, _, errb := runIO(t, false, args...)
		if code != exitUsage || !strings.Contains(errb, path) || !strings.Contains(errb, "not an espfctl journal") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 saying the file is not an espfctl journal", args, code, errb)
		}
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
		t.Errorf("the foreign file changed (%d bytes before, %d after, %v)", len(before), len(after), err)
	}
}
