package journal

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
)

// Kind says what became of a received request.
type Kind string

// The kinds; the values are the stable machine form (URLs, JSON, a
// replay's Source).
const (
	First     Kind = "first"     // an event's first delivery answered 200
	Duplicate Kind = "duplicate" // a later delivery of an event, answered 200 (a repeat)
	Rejected  Kind = "rejected"  // a delivery not answered 200
	Replay    Kind = "replay"    // the inspector's replay to the Application
)

// numKinds is how many kinds there are.
const numKinds = 4

// Kinds are the kinds, in the order records of the same time are listed.
func Kinds() []Kind { return []Kind{Rejected, First, Duplicate, Replay} }

// rank is the kind's place in Kinds, -1 for none.
func (k Kind) rank() int {
	switch k {
	case Rejected:
		return 0
	case First:
		return 1
	case Duplicate:
		return 2
	case Replay:
		return 3
	}
	return -1
}

// ParseKind reads a kind's machine form.
func ParseKind(s string) (Kind, bool) {
	k := Kind(s)
	return k, k.rank() >= 0
}

// Record is one request the journal received, whatever became of it (its
// Kind), and what the journal keeps of it. Written, it is what the
// receiver hands Commit, Log or CommitReplay; read, it is one row of the
// listing. Text fields are as received (bounded by the receiver): escape
// them for display.
type Record struct {
	Kind Kind
	// ID names the record with Kind (Key): the i_event of a first
	// delivery, else the duplicate's, rejection's or replay's row. Set by
	// the journal.
	ID         int64
	Time       time.Time // when it was received; a first delivery: the event's first delivery
	IEvent     *int64    // nil when the request carried none (a rejection before the body was read)
	Type       string    // event_type
	Entity     string    // the entity the event is about ("i_account=1000889"), searchable
	AuthScheme string    // the scheme name, never a secret; "none" without auth
	Auth       string    // ok, failed, none, - (before auth); a replay: ok when serve signed it, edited, none
	Status     int       // serve's answer; 0: none
	Reason     string    // why it was not answered 200; a replay's notes
	Flags      string    // the catalog's findings
	// Deliveries is the event's 200 answers: so far for a first delivery,
	// this copy's number for a duplicate. Set by the journal.
	Deliveries int64
	// LastDelivery is a first delivery's event's latest 200 answer. Set
	// by the journal.
	LastDelivery time.Time
	Remote       string // the sender's address ("inspector" for a replay)
	Source       string // a replay: the record it replayed ("first/7615")

	// The exchange with the Application (serve --forward-to). Forwarded
	// is false when the request was not forwarded; ForwardStatus is nil
	// when the Application gave no answer (ForwardError says why).
	Forwarded     bool
	ForwardStatus *int
	ForwardMS     *float64
	ForwardError  string
	// ForwardAnswer is what the Application answered when it was not a
	// plain delivery (any status but 200, a 200 whose body reads as a
	// failure): status, headers and the first 4 KiB of its body.
	ForwardAnswer *espf.Reply

	// The raw capture, read with Query.Capture or Get. Variables is a
	// first delivery's variables object as received. Body is the bytes
	// received (of a rejection, only the first of BodySize); BodyRead is
	// false when the request was refused from its headers, its body never
	// read. Headers are the request's headers, credentials redacted.
	Variables json.RawMessage
	Body      []byte
	BodySize  int64
	BodyRead  bool
	Headers   Headers

	at int64 // the time as stored: the listing's key, exact
}

// Key names the record: "first/7615", "rejected/12".
func (r *Record) Key() string { return string(r.Kind) + "/" + strconv.FormatInt(r.ID, 10) }

// Cursor is the record's place in the listing.
func (r *Record) Cursor() Cursor { return Cursor{At: r.at, Rank: r.Kind.rank(), ID: r.ID} }

// Consequence is what the ESPF does with the record's answer.
func (r *Record) Consequence() espf.Outcome { return espf.Consequence(r.Status, r.Status == 0) }

// Complete reports whether the body is whole: a replay as recorded sends
// these bytes.
func (r *Record) Complete() bool { return r.BodyRead && int64(len(r.Body)) == r.BodySize }

// Truncated reports whether the journal kept only part of the body.
func (r *Record) Truncated() bool { return r.BodySize > int64(len(r.Body)) }

// BodyJSON is the body as received when it is whole and JSON, else nil.
func (r *Record) BodyJSON() json.RawMessage {
	if r.Complete() && json.Valid(r.Body) {
		return r.Body
	}
	return nil
}

// live is the record as the feed and the tallies see it once committed:
// its kind, id and count, without its raw capture (a subscriber's buffer
// would hold every body otherwise).
func (r *Record) live(kind Kind, id, deliveries int64) Record {
	x := Record{Kind: kind, ID: id, Time: r.Time.UTC(), at: r.Time.UnixNano(), Type: r.Type, Entity: r.Entity, Auth: r.Auth,
		AuthScheme: r.AuthScheme, Status: r.Status, Reason: r.Reason, Flags: r.Flags, Deliveries: deliveries,
		Remote: r.Remote, Source: r.Source}
	if kind == First {
		x.LastDelivery = x.Time
	}
	if r.IEvent != nil {
		v := *r.IEvent
		x.IEvent = &v
	}
	if r.Forwarded {
		x.Forwarded, x.ForwardError, x.ForwardAnswer = true, r.ForwardError, r.ForwardAnswer
		if r.ForwardStatus != nil && *r.ForwardStatus != 0 {
			st := *r.ForwardStatus
			x.ForwardStatus = &st
		}
		ms := 0.0
		if r.ForwardMS != nil {
			ms = *r.ForwardMS
		}
		x.ForwardMS = &ms
	}
	return x
}

// Cursor is a place in the listing, which is ordered by time, then kind
// (Kinds), then id: the records before it are older.
type Cursor struct {
	At   int64 // the time as stored (Unix nanoseconds)
	Rank int   // the kind's place in Kinds
	ID   int64
}

// String is the cursor's form in a URL: AT-RANK-ID.
func (c Cursor) String() string {
	return strconv.FormatInt(c.At, 10) + "-" + strconv.Itoa(c.Rank) + "-" + strconv.FormatInt(c.ID, 10)
}

// ParseCursor reads what String wrote.
func ParseCursor(s string) (Cursor, error) {
	var c Cursor
	p := strings.Split(s, "-")
	if len(p) == 4 && p[0] == "" { // a negative time
		p = []string{"-" + p[1], p[2], p[3]}
	}
	if len(p) != 3 {
		return c, fmt.Errorf("cursor %q: want AT-RANK-ID", s)
	}
	var err1, err2, err3 error
	c.At, err1 = strconv.ParseInt(p[0], 10, 64)
	c.Rank, err2 = strconv.Atoi(p[1])
	c.ID, err3 = strconv.ParseInt(p[2], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil || c.Rank < 0 || c.Rank >= numKinds {
		return Cursor{}, fmt.Errorf("cursor %q: want AT-RANK-ID", s)
	}
	return c, nil
}

// compare orders cursors: older first.
func (c Cursor) compare(d Cursor) int {
	return cmp.Or(cmp.Compare(c.At, d.At), cmp.Compare(c.Rank, d.Rank), cmp.Compare(c.ID, d.ID))
}
