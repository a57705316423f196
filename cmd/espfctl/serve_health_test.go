package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeSaysWhenTheJournalCannotWrite: serve's stderr says once, with
// the error, that the journal cannot write (three deliveries fail), and
// once that it writes again.
func TestServeSaysWhenTheJournalCannotWrite(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "j.db")
	s := startInServe(t, "--no-auth", "--journal", db)
	other, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tables := []string{"events", "rejections", "copies"}
	for _, table := range tables {
		if _, err := other.Exec(`CREATE TRIGGER full_` + table + ` BEFORE INSERT ON ` + table + ` BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
			t.Fatal(err)
		}
	}
	deliver := func(id int) int {
		body := fmt.Sprintf(`{"event_type":"Subscriber/Created","variables":{"i_account":1,"i_event":%d}}`, id)
		req, err := http.NewRequest(http.MethodPost, "http://"+s.addr+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for id := range 3 {
		if st := deliver(id + 1); st != 500 {
			t.Fatalf("delivery to a journal that cannot write: %d, want 500", st)
		}
	}
	for _, table := range tables {
		if _, err := other.Exec(`DROP TRIGGER full_` + table); err != nil {
			t.Fatal(err)
		}
	}
	if st := deliver(9); st != 200 {
		t.Fatalf("delivery once the journal writes again: %d", st)
	}
	s.stop()
	errText := s.err.String()
	if n := strings.Count(errText, "the journal cannot write"); n != 1 || !strings.Contains(errText, "disk is full") {
		t.Errorf("stderr says %d times that the journal cannot write, want once with the error:\n%s", n, errText)
	}
	if n := strings.Count(errText, "the journal writes again"); n != 1 {
		t.Errorf("stderr says %d times that the journal writes again, want once:\n%s", n, errText)
	}
}
