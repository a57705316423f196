package journal

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
)

// Query selects records for Page and Each. The zero value selects every
// record, newest first. The listing is ordered by time, then kind (Kinds),
// then id (a first delivery's time is the event's first delivery), or by
// id (ByID).
type Query struct {
	Kinds []Kind       // only these kinds; empty: every kind
	Type  string       // exact event_type
	Since time.Time    // only records received at or after this time; zero: any
	Class espf.Outcome // only answers with this consequence (Delivered, Dropped, Resent); "" any
	// Search is an i_event or an entity id: "1000889" matches i_event
	// 1000889 and i_account=1000889, number=1000889, …; "i_account=5"
	// matches that entity only. Exact, not a substring.
	Search string
	IEvent *int64 // only the records of this i_event

	// Before and After bound the listing: only the records older than
	// Before, newer than After. Page reads the page past one of them
	// (Before wins); Each honours both.
	Before, After *Cursor
	Oldest        bool // oldest first; the default is newest first
	// ByID orders the listing by the records' ids (then kind) instead of
	// their time; the cursors of such a listing are of that order. A
	// rejection's id is its place in the order the journal wrote it:
	// journal --rejected lists them so (two answered at once may be
	// written in either order). A first delivery's id is its i_event.
	ByID bool
	// Limit is, for Page, the records per page (0 = DefaultLimit, at most
	// MaxLimit); for Each, at most this many records (0 = all).
	Limit int
	// Tail, for Each, keeps only the last Tail records of the listing,
	// still in its order (journal --rejected --limit N: the newest N,
	// oldest first, as tail shows them); 0 = all.
	Tail int
	// Capture reads what the journal keeps of each request too: body,
	// headers, and a first delivery's variables.
	Capture bool
}

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page is one page of the listing, in the query's order. Older and Newer
// are the cursors of the pages on either side (Before and After of the
// next query); nil when there is none.
type Page struct {
	Records      []Record
	Older, Newer *Cursor
}

// key is r's place in q's listing: its Cursor, or by id with ByID.
func (q *Query) key(r *Record) Cursor {
	if q.ByID {
		return Cursor{At: r.ID, Rank: r.Kind.rank(), ID: r.ID}
	}
	return r.Cursor()
}

// wants reports whether q selects records of kind k.
func (q *Query) wants(k Kind) bool { return len(q.Kinds) == 0 || slices.Contains(q.Kinds, k) }

// narrow reports whether q picks a few records by i_event or entity: its
// sources are read through those indexes, not the time index.
func (q *Query) narrow() bool { return q.Search != "" || q.IEvent != nil }

// Match reports whether r passes q's selection (not its bounds): what a
// live view applies to the records Subscribe hands it.
func (q *Query) Match(r *Record) bool {
	switch {
	case q.Type != "" && r.Type != q.Type,
		!q.wants(r.Kind),
		!q.Since.IsZero() && r.at < q.Since.UnixNano(),
		q.Class != "" && r.Consequence() != q.Class,
		q.IEvent != nil && (r.IEvent == nil || *r.IEvent != *q.IEvent):
		return false
	case q.Search == "":
		return true
	}
	n, isID := parseID(q.Search)
	if isID && r.IEvent != nil && *r.IEvent == n {
		return true
	}
	return r.Entity != "" && slices.Contains(entityCandidates(q.Search), r.Entity)
}

func parseID(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// entityCandidates are the entity values a search stands for.
func entityCandidates(s string) []string {
	if strings.Contains(s, "=") {
		return []string{s}
	}
	out := make([]string, len(event.EntityKeys))
	for i, k := range event.EntityKeys {
		out[i] = k + "=" + s
	}
	return out
}
