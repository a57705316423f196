package journal

import (
	"bytes"
	"encoding/json"
	"github.com/espfctl/espfctl/internal/espf"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/event"
)

// A Record's JSON form is a line of espfctl journal --json (and of GET
// /events and /rejections on serve's admin listener). The field names are
// a stable interface: fields are added, never renamed, and schema_version,
// every line's first key, changes only when a field changes its meaning
// or goes away. Each kind keeps the fields it always had:
//
//   - a first delivery is an event line (journal --json, GET /events): the
//     form send --events replays byte for byte;
//   - a rejection is a rejection line (journal --rejected --json);
//   - a duplicate or a replay is a copy line (journal --copies --json),
//     with its kind and id.
//
// Every line is valid UTF-8 JSON whatever the journal holds: a body that
// is valid UTF-8 is written as a string (body), else as body_base64, and
// nothing is HTML-escaped.

// SchemaVersion is the version of the journal's JSON lines.
const SchemaVersion = 1

// Encoder writes records as JSON lines.
type Encoder struct{ w io.Writer }

// NewEncoder returns an encoder of JSON lines on w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode writes r as one line.
func (e *Encoder) Encode(r *Record) error {
	b, err := r.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = e.w.Write(append(b, '\n'))
	return err
}

// eventLine is a first delivery's JSON form.
type eventLine struct {
	SchemaVersion int                 `json:"schema_version"`
	IEvent        int64               `json:"i_event"`
	Type          string              `json:"event_type"`
	Variables     json.RawMessage     `json:"variables"`
	Deliveries    int64               `json:"deliveries"`
	FirstDelivery time.Time           `json:"first_delivery"`
	LastDelivery  time.Time           `json:"last_delivery"`
	AuthScheme    string              `json:"auth_scheme"`
	Status        int                 `json:"status"`
	Flags         string              `json:"flags,omitempty"`
	Body          *string             `json:"body,omitempty"`
	BodyBase64    []byte              `json:"body_base64,omitempty"`
	Headers       map[string][]string `json:"headers,omitempty"`
	Remote        string              `json:"remote,omitempty"`
	ForwardStatus *int                `json:"forward_status,omitempty"`
	ForwardMS     *float64            `json:"forward_ms,omitempty"`
	ForwardAnswer *espf.Reply         `json:"forward_answer,omitempty"`
	Payload       string              `json:"payload,omitempty"` // the variables' shape: enriched (i_env or event_time) or minimal (contract §8)
}

// rejectionLine is a rejection's JSON form.
type rejectionLine struct {
	SchemaVersion int                 `json:"schema_version"`
	Time          time.Time           `json:"time"`
	IEvent        *int64              `json:"i_event"`
	Type          string              `json:"event_type,omitempty"`
	Status        int                 `json:"status"`
	AuthScheme    string              `json:"auth_scheme"`
	Auth          string              `json:"auth"`
	Reason        string              `json:"reason"`
	Remote        string              `json:"remote,omitempty"`
	Body          *string             `json:"body,omitempty"`
	BodyBase64    []byte              `json:"body_base64,omitempty"`
	BodySize      int64               `json:"body_size"`
	BodyTruncated bool                `json:"body_truncated,omitempty"`
	Headers       map[string][]string `json:"headers,omitempty"`
	ForwardStatus *int                `json:"forward_status,omitempty"`
	ForwardMS     *float64            `json:"forward_ms,omitempty"`
	ForwardError  string              `json:"forward_error,omitempty"`
	ForwardAnswer *espf.Reply         `json:"forward_answer,omitempty"`
}

// copyLine is a duplicate's or a replay's JSON form: the field names of
// the event and rejection lines, with kind and id.
type copyLine struct {
	SchemaVersion int                 `json:"schema_version"`
	Time          time.Time           `json:"time"`
	Kind          Kind                `json:"kind"`
	ID            int64               `json:"id"`
	IEvent        *int64              `json:"i_event"`
	Type          string              `json:"event_type,omitempty"`
	Entity        string              `json:"entity,omitempty"`
	Deliveries    int64               `json:"deliveries"`
	Status        int                 `json:"status"`
	AuthScheme    string              `json:"auth_scheme"`
	Auth          string              `json:"auth"`
	Reason        string              `json:"reason,omitempty"`
	Flags         string              `json:"flags,omitempty"`
	Remote        string              `json:"remote,omitempty"`
	Source        string              `json:"source,omitempty"`
	ForwardStatus *int                `json:"forward_status,omitempty"`
	ForwardMS     *float64            `json:"forward_ms,omitempty"`
	ForwardError  string              `json:"forward_error,omitempty"`
	ForwardAnswer *espf.Reply         `json:"forward_answer,omitempty"`
	Body          *string             `json:"body,omitempty"`
	BodyBase64    []byte              `json:"body_base64,omitempty"`
	BodySize      int64               `json:"body_size"`
	BodyTruncated bool                `json:"body_truncated,omitempty"`
	Headers       map[string][]string `json:"headers,omitempty"`
}

// MarshalJSON writes the record in its kind's form. Variables are written
// as received, with bytes that are not UTF-8 as \ufffd.
func (r Record) MarshalJSON() ([]byte, error) {
	body, b64 := bodyFields(r.Body)
	switch r.Kind {
	case First:
		id := r.ID
		if r.IEvent != nil {
			id = *r.IEvent
		}
		return marshalNoHTML(eventLine{SchemaVersion: SchemaVersion, IEvent: id, Type: r.Type, Variables: validJSON(r.Variables),
			Payload: r.Payload(), Deliveries: r.Deliveries, FirstDelivery: r.Time, LastDelivery: r.LastDelivery, AuthScheme: r.AuthScheme, Status: r.Status,
			Flags: r.Flags, Body: body, BodyBase64: b64, Headers: r.Headers, Remote: r.Remote, ForwardStatus: r.storedStatus(),
			ForwardMS: r.ForwardMS, ForwardAnswer: r.ForwardAnswer})
	case Rejected:
		return marshalNoHTML(rejectionLine{SchemaVersion: SchemaVersion, Time: r.Time, IEvent: r.IEvent, Type: r.Type, Status: r.Status,
			AuthScheme: r.AuthScheme, Auth: r.Auth, Reason: r.Reason, Remote: r.Remote, Body: body, BodyBase64: b64,
			BodySize: r.BodySize, BodyTruncated: r.Truncated(), Headers: r.Headers, ForwardStatus: r.storedStatus(),
			ForwardMS: r.ForwardMS, ForwardError: r.ForwardError, ForwardAnswer: r.ForwardAnswer})
	}
	return marshalNoHTML(copyLine{SchemaVersion: SchemaVersion, Time: r.Time, Kind: r.Kind, ID: r.ID, IEvent: r.IEvent, Type: r.Type,
		Entity: r.Entity, Deliveries: r.Deliveries, Status: r.Status, AuthScheme: r.AuthScheme, Auth: r.Auth, Reason: r.Reason,
		Flags: r.Flags, Remote: r.Remote, Source: r.Source, ForwardStatus: r.ForwardStatus, ForwardMS: r.ForwardMS,
		ForwardError: r.ForwardError, ForwardAnswer: r.ForwardAnswer, Body: body, BodyBase64: b64, BodySize: r.BodySize, BodyTruncated: !r.Complete(),
		Headers: r.Headers})
}

// storedStatus is the Application's status as the event and rejection
// lines have always written it: 0 for a forwarded request it did not
// answer.
func (r *Record) storedStatus() *int {
	if r.ForwardStatus == nil && r.Forwarded && r.Kind != Replay {
		zero := 0
		return &zero
	}
	return r.ForwardStatus
}

// line is every form's fields, for UnmarshalJSON.
type line struct {
	Kind          Kind                `json:"kind"`
	ID            int64               `json:"id"`
	Time          time.Time           `json:"time"`
	IEvent        *int64              `json:"i_event"`
	Type          string              `json:"event_type"`
	Entity        string              `json:"entity"`
	Variables     json.RawMessage     `json:"variables"`
	Deliveries    int64               `json:"deliveries"`
	FirstDelivery time.Time           `json:"first_delivery"`
	LastDelivery  time.Time           `json:"last_delivery"`
	AuthScheme    string              `json:"auth_scheme"`
	Auth          string              `json:"auth"`
	Status        int                 `json:"status"`
	Reason        string              `json:"reason"`
	Flags         string              `json:"flags"`
	Remote        string              `json:"remote"`
	Source        string              `json:"source"`
	ForwardStatus *int                `json:"forward_status"`
	ForwardMS     *float64            `json:"forward_ms"`
	ForwardError  string              `json:"forward_error"`
	ForwardAnswer *espf.Reply         `json:"forward_answer"`
	Body          *string             `json:"body"`
	BodyBase64    []byte              `json:"body_base64"`
	BodySize      *int64              `json:"body_size"`
	Headers       map[string][]string `json:"headers"`
}

// UnmarshalJSON reads a line of any form: a line without kind is an event
// line when it has variables or first_delivery, else a rejection line.
func (r *Record) UnmarshalJSON(b []byte) error {
	var x line
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*r = Record{Kind: x.Kind, ID: x.ID, Time: x.Time, IEvent: x.IEvent, Type: x.Type, Entity: x.Entity, Variables: x.Variables,
		Deliveries: x.Deliveries, LastDelivery: x.LastDelivery, AuthScheme: x.AuthScheme, Auth: x.Auth, Status: x.Status,
		Reason: x.Reason, Flags: x.Flags, Remote: x.Remote, Source: x.Source, ForwardStatus: x.ForwardStatus,
		ForwardMS: x.ForwardMS, ForwardError: x.ForwardError, ForwardAnswer: x.ForwardAnswer, Headers: x.Headers, Body: x.BodyBase64}
	if x.Body != nil {
		r.Body = []byte(*x.Body)
	}
	if r.Kind == "" {
		r.Kind = Rejected
		if x.Variables != nil || !x.FirstDelivery.IsZero() {
			r.Kind = First
		}
	}
	if r.Kind == First {
		r.Time = x.FirstDelivery
		if x.IEvent != nil {
			r.ID = *x.IEvent
		}
	}
	r.BodySize, r.BodyRead = int64(len(r.Body)), true
	if x.BodySize != nil {
		r.BodySize = max(*x.BodySize, r.BodySize)
		r.BodyRead = r.Body != nil || *x.BodySize == 0
	}
	r.Forwarded = r.ForwardStatus != nil || r.ForwardError != "" || r.Kind == Replay
	if r.ForwardStatus != nil && *r.ForwardStatus == 0 {
		r.ForwardStatus = nil // no answer, as the journal reads it
	}
	r.at = r.Time.UnixNano()
	return nil
}

// bodyFields is the body as a JSON string when it is valid UTF-8 (its
// bytes exactly), else as base64; neither for no body.
func bodyFields(b []byte) (*string, []byte) {
	switch {
	case b == nil:
		return nil, nil
	case utf8.Valid(b):
		s := string(b)
		return &s, nil
	}
	return nil, b
}

// validJSON makes raw JSON safe to embed: invalid UTF-8 bytes (which can
// only be inside strings) become the escape \ufffd, and text that is not
// JSON at all (a damaged journal) becomes a JSON string.
func validJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	if !utf8.Valid(raw) {
		raw = json.RawMessage(strings.ToValidUTF8(string(raw), `\ufffd`))
	}
	if !json.Valid(raw) {
		s, _ := marshalNoHTML(string(raw))
		return s
	}
	return raw
}

func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Payload is the shape of the event's variables as received (contract
// §8): "enriched" when they carry i_env or event_time, "minimal" when
// not, "" when they are not a JSON object.
func (r *Record) Payload() string {
	var vars map[string]any
	if json.Unmarshal(r.Variables, &vars) != nil || vars == nil {
		return ""
	}
	return string(event.Of(vars))
}
