package verify

import (
	"context"
	"database/sql"
)

// HeadersText is Headers.text, for the tests.
func HeadersText(h Headers) any { return h.text() }

// JournalBytes is the size of the journal's database: its pages times
// the page size (for an in-memory journal, the memory its pages take).
func JournalBytes(j *Journal) (int64, error) {
	var n int64
	err := j.query(context.Background(), `SELECT p.page_count * s.page_size FROM pragma_page_count() p, pragma_page_size() s`, nil,
		func(r *sql.Rows) error { return r.Scan(&n) })
	return n, err
}

// CutShort makes rc answer 200 early, for the load test's variants:
// after "body" (the header checks and the body read only) or after
// "checks" (every check and the decoding, but no journal).
func CutShort(rc *Receiver, after string) {
	rc.cut = map[string]cutPoint{"body": cutAfterBody, "checks": cutAfterChecks}[after]
}
