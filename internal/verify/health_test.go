package verify_test

import (
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/verify"
)

// TestHealthzReportsAJournalThatCannotWrite: while the journal's commits
// fail (here the database refuses every insert, as a full disk
// or a read-only file refuses every write), deliveries are answered 500,
// /healthz answers 503 with the error, and serve is told once; when the
// journal writes again, a delivery is answered 200, /healthz says ok, and
// serve is told once more.
func TestHealthzReportsAJournalThatCannotWrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "j.db")
	var mu sync.Mutex
	var told []string
	j, err := journal.Open(journal.Config{Path: path, OnWriteError: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			told = append(told, "recovered")
		} else {
			told = append(told, "failed: "+err.Error())
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	rc, srv := startReceiver(t, verify.Config{Journal: j})
	admin := httptest.NewServer(rc.Admin())
	t.Cleanup(admin.Close)
	health := func() (int, string) {
		resp, err := http.Get(admin.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	exec := func(q string) {
		if _, err := other.Exec(q); err != nil {
			t.Fatal(err)
		}
	}

	if c := post(t, srv.URL, nil, time.Now(), body(1), nil); c != 200 {
		t.Fatalf("a delivery to a healthy journal: %d", c)
	}
	for _, table := range []string{"events", "rejections", "copies"} {
		exec(`CREATE TRIGGER full_` + table + ` BEFORE INSERT ON ` + table + ` BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)
	}
	for i := range 3 {
		if c := post(t, srv.URL, nil, time.Now(), body(int64(10+i)), nil); c != 500 {
			t.Fatalf("a delivery the journal cannot write: %d, want 500", c)
		}
	}
	if st, text := health(); st != 503 || !strings.Contains(text, "journal cannot write") || !strings.Contains(text, "disk is full") {
		t.Errorf("/healthz while the journal cannot write: %d %q, want 503 with the error", st, text)
	}
	for _, table := range []string{"events", "rejections", "copies"} {
		exec(`DROP TRIGGER full_` + table)
	}
	if c := post(t, srv.URL, nil, time.Now(), body(20), nil); c != 200 {
		t.Fatalf("a delivery once the journal writes again: %d", c)
	}
	if st, text := health(); st != 200 || text != "ok\n" {
		t.Errorf("/healthz once the journal writes again: %d %q, want 200 ok", st, text)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(told) != 2 || !strings.HasPrefix(told[0], "failed: ") || !strings.Contains(told[0], "disk is full") || told[1] != "recovered" {
		t.Errorf("serve was told %q; want the failure once, with its error, then the recovery once", told)
	}
}
