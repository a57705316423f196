package journal_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/journal"
)

// TestJSONLinesReplay: what journal --json writes (schema_version first)
// replays through send --events: a recorded body byte for byte (as a
// string, or body_base64 when it is not UTF-8), and an event of a journal
// written before raw capture from its type and variables.
func TestJSONLinesReplay(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	bodies := []string{
		`{"event_type":"Subscriber/Created","variables":{"i_event":7615,"note":"<a&b>"}}`,
		"{\"event_type\":\"Account/Updated\",\"variables\":{\"i_event\":7616,\"raw\":\"\xff\"}}",
	}
	var recs []journal.Record
	for i, b := range bodies {
		r := delivery(t0, int64(7615+i), "ignored")
		r.Kind, r.ID, r.Body = journal.First, int64(7615+i), []byte(b)
		recs = append(recs, r)
	}
	old := delivery(t0, 7617, "Customer/Updated")
	old.Kind, old.ID, old.Variables = journal.First, 7617, json.RawMessage(`{"i_customer":"42","i_event":7617}`)
	recs = append(recs, old)

	var buf bytes.Buffer
	enc := journal.NewEncoder(&buf)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !strings.HasPrefix(line, `{"schema_version":1,"i_event":`) {
			t.Errorf("line %s: want schema_version first, then i_event", line)
		}
	}
	r := event.NewReplay(&buf, "journal.jsonl", 1)
	for i, want := range append(bodies, "") {
		it, err := r.Next()
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if it.IEvent != int64(7615+i) || (want != "" && string(it.Body) != want) {
			t.Errorf("line %d: i_event %d, body %q; want %d and %q", i+1, it.IEvent, it.Body, 7615+i, want)
		}
		if want == "" && (it.Type != "Customer/Updated" || !strings.Contains(string(it.Body), `"i_customer":"42"`)) {
			t.Errorf("line %d (no raw capture): %s %s, want it built from its type and variables", i+1, it.Type, it.Body)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the lines: %v, want EOF", err)
	}
}

// TestJSONForms: each kind is written in its own form, schema_version
// first, and read back as it was; a forwarded request the Application
// did not answer is written with forward_status 0, as it always was, and
// read back without a status. A rejection line has no id (it never had).
func TestJSONForms(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rej := journal.Record{Kind: journal.Rejected, ID: 3, Time: t0, IEvent: ptr(int64(9)), Type: "A/B", Status: 504, AuthScheme: "basic",
		Auth: "ok", Reason: "no answer in time", Body: []byte("{}"), BodySize: 2000, BodyRead: true, Forwarded: true,
		ForwardMS: ptr(30000.0), ForwardError: "timeout: deadline"}
	dup := journal.Record{Kind: journal.Duplicate, ID: 4, Time: t0, IEvent: ptr(int64(9)), Type: "A/B", Deliveries: 2, Status: 200,
		AuthScheme: "basic", Auth: "ok", Body: []byte("{}"), BodySize: 2, BodyRead: true, Headers: journal.Headers{"X": {"y"}}}
	first := delivery(t0, 9, "A/B")
	first.Kind, first.ID, first.Deliveries, first.LastDelivery = journal.First, 9, 2, t0.Add(time.Second)
	first.Body, first.BodySize, first.BodyRead = []byte("{}"), 2, true
	for _, tt := range []struct {
		r    journal.Record
		want string // the line's start and some of its fields
		has  []string
	}{
		{first, `{"schema_version":1,"i_event":9,"event_type":"A/B","variables":{"i_event":9},"deliveries":2,"first_delivery":`,
			[]string{`"last_delivery":"2026-12-01T10:00:01Z"`, `"body":"{}"`}},
		{rej, `{"schema_version":1,"time":"2026-12-01T10:00:00Z","i_event":9,"event_type":"A/B","status":504,`,
			[]string{`"body_size":2000,"body_truncated":true`, `"forward_status":0,"forward_ms":30000,"forward_error":"timeout: deadline"`}},
		{dup, `{"schema_version":1,"time":"2026-12-01T10:00:00Z","kind":"duplicate","id":4,"i_event":9,`,
			[]string{`"deliveries":2`, `"headers":{"X":["y"]}`}},
	} {
		b, err := json.Marshal(tt.r)
		if err != nil {
			t.Fatal(err)
		}
		line := string(b)
		if !strings.HasPrefix(line, tt.want) {
			t.Errorf("%s line %s\nwant it to start %s", tt.r.Kind, line, tt.want)
		}
		for _, h := range tt.has {
			if !strings.Contains(line, h) {
				t.Errorf("%s line %s\nwant %s", tt.r.Kind, line, h)
			}
		}
		var back journal.Record
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if tt.r.Kind == journal.Rejected {
			back.ID = tt.r.ID
		}
		if back.Kind != tt.r.Kind || back.ID != tt.r.ID || !back.Time.Equal(tt.r.Time) || string(back.Body) != string(tt.r.Body) ||
			back.BodySize != tt.r.BodySize || back.Forwarded != tt.r.Forwarded || back.ForwardStatus != nil || back.Deliveries != tt.r.Deliveries {
			t.Errorf("%s read back as %+v", tt.r.Kind, back)
		}
	}
}

// TestEventLinePayload: an event line says which shape its variables had
// (contract §8): enriched with i_env or event_time, minimal without.
func TestEventLinePayload(t *testing.T) {
	t.Parallel()
	for vars, want := range map[string]string{
		`{"i_account":1,"i_event":2}`: `"payload":"minimal"`,
		`{"i_account":1,"i_event":2,"i_env":1,"event_time":"2026-12-07 10:00:00"}`: `"payload":"enriched"`,
	} {
		id := int64(2)
		b, err := json.Marshal(&journal.Record{Kind: journal.First, IEvent: &id, Type: "Subscriber/Created", Variables: []byte(vars), Status: 200})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s: line %s, want %s", vars, b, want)
		}
	}
}
