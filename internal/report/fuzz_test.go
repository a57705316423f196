package report_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/term"
)

// FuzzResultsFile feeds arbitrary results files (what send --results
// writes, or anything) to report's reader, summary and both renderings:
// no panic; a file that reads gives one valid JSON object and a text
// report; a file that does not read is named file:line.
//
//	go test -run '^$' -fuzz FuzzResultsFile -fuzztime 60s ./internal/report
func FuzzResultsFile(f *testing.F) {
	for _, s := range []string{
		`{"i_event":1,"event_type":"Subscriber/Created","attempt":1,"intended":"2026-01-01T00:00:00Z","sent":"2026-01-01T00:00:00.001Z","answered":"2026-01-01T00:00:00.010Z","status":200,"outcome":"delivered"}`,
		`{"i_event":2,"event_type":"Subscriber/Created","attempt":1,"intended":"2026-01-01T00:00:00Z","sent":"2026-01-01T00:00:00Z","answered":"2026-01-01T00:00:01Z","error":"timeout","outcome":"retry"}` + "\n" +
			`{"i_event":2,"event_type":"Subscriber/Created","attempt":2,"intended":"2026-01-01T00:00:02Z","sent":"2026-01-01T00:00:02Z","answered":"2026-01-01T00:00:02.5Z","status":503,"outcome":"gave_up"}`,
		`{"i_event":3,"attempt":1,"duplicate":true,"status":500,"outcome":"resent"}`,
		`{"i_event":-1,"attempt":0,"intended":"0001-01-01T00:00:00Z","answered":"9999-12-31T23:59:59Z","outcome":"pending"}`,
		`{"i_event":4,"attempt":1,"intended":"2026-01-01T00:00:10Z","sent":"2026-01-01T00:00:00Z","answered":"2025-01-01T00:00:00Z","status":404,"outcome":"dropped","event_type":"\u0000\n\t<>"}`,
		`{"i_event":1e400}`, `{"outcome":7}`, "not json", "\n\n", `{}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, file string) {
		m := report.NewMetrics()
		if err := sim.ReadRecords(strings.NewReader(file), "results.jsonl", m.Add); err != nil {
			if !strings.HasPrefix(err.Error(), "results.jsonl:") && !strings.HasPrefix(err.Error(), "read results.jsonl") {
				t.Fatalf("error %q names no position", err)
			}
			return
		}
		s := report.NewSummary(m, report.Inputs{})
		var b bytes.Buffer
		if err := report.SummaryJSON(&b, s); err != nil {
			t.Fatalf("SummaryJSON: %v", err)
		}
		var v map[string]any
		if err := json.Unmarshal(b.Bytes(), &v); err != nil {
			t.Fatalf("--json is not one JSON object: %v\n%s", err, b.Bytes())
		}
		b.Reset()
		for _, table := range []bool{false, true} {
			if err := report.SummaryText(&b, s, term.Layout{Aligned: table, Width: 80}); err != nil {
				t.Fatalf("SummaryText: %v", err)
			}
		}
		_ = s.AllDelivered()
	})
}
