package sim_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/schema"
	"github.com/espfctl/espfctl/internal/sim"
)

// TestResultsLinesCarrySchemaVersion: every line of a results file starts
// with schema_version (docs/json.md) and reads back as the record written.
func TestResultsLinesCarrySchemaVersion(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	recs := []sim.Record{
		{IEvent: 1, EventType: "Subscriber/Created", Attempt: 1, Intended: at, Sent: at, Answered: at.Add(time.Millisecond), Status: 503, Outcome: espf.Resent},
		{IEvent: 1, EventType: "Subscriber/Created", Attempt: 2, Intended: at.Add(time.Second), Sent: at.Add(time.Second), Answered: at.Add(time.Second), Status: 200, Outcome: espf.Delivered},
	}
	var b bytes.Buffer
	w := sim.NewRecordWriter(&b)
	for i := range recs {
		w.Record(&recs[i])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("%d lines, want %d", len(lines), len(recs))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m["schema_version"] != float64(schema.Version) || !strings.HasPrefix(l, `{"schema_version":`) {
			t.Errorf("line %s: want schema_version %d first", l, schema.Version)
		}
	}
	var got []sim.Record
	if err := sim.ReadRecords(&b, "res.jsonl", func(r *sim.Record) { got = append(got, *r) }); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if got[i] != recs[i] {
			t.Errorf("record %d read back as %+v, want %+v", i, got[i], recs[i])
		}
	}
}

// TestReadRecordsWithAndWithoutSchemaVersion: a results file written before
// schema_version existed reads as one written with it.
func TestReadRecordsWithAndWithoutSchemaVersion(t *testing.T) {
	t.Parallel()
	const rec = `"i_event":7,"event_type":"Subscriber/Created","attempt":1,"intended":"2026-01-01T00:00:00Z","sent":"2026-01-01T00:00:00Z","answered":"2026-01-01T00:00:00.001Z","status":200,"outcome":"delivered"}`
	in := "{" + rec + "\n" + `{"schema_version":1,` + rec + "\n"
	var got []sim.Record
	if err := sim.ReadRecords(strings.NewReader(in), "res.jsonl", func(r *sim.Record) { got = append(got, *r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != got[1] || got[0].IEvent != 7 || got[0].Outcome != espf.Delivered {
		t.Errorf("read %+v, want the same record twice", got)
	}
}
