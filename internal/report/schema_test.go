package report_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/schema"
)

// TestJSONDocumentsCarrySchemaVersion: every JSON document the report layer
// writes (send and report --json, run --json and --report-json, check
// --json) starts with the schema_version users pin (docs/json.md).
func TestJSONDocumentsCarrySchemaVersion(t *testing.T) {
	t.Parallel()
	docs := map[string]func(*bytes.Buffer) error{
		"summary":    func(b *bytes.Buffer) error { return report.SummaryJSON(b, fixedRun(t).Summary) },
		"run":        func(b *bytes.Buffer) error { return report.RunJSON(b, fixedRun(t), false) },
		"run indent": func(b *bytes.Buffer) error { return report.RunJSON(b, fixedRun(t), true) },
		"check":      func(b *bytes.Buffer) error { return report.CheckJSON(b, report.CheckReport{URL: "http://x/"}) },
		"check cases": func(b *bytes.Buffer) error {
			return report.CheckJSON(b, report.CheckReport{Checks: []check.Result{{ID: "1/did"}}})
		},
	}
	for name, write := range docs {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := write(&b); err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if got := doc["schema_version"]; got != float64(schema.Version) {
				t.Errorf("schema_version = %v, want %d", got, schema.Version)
			}
			if !strings.HasPrefix(strings.TrimLeft(b.String(), "{ \n"), `"schema_version"`) {
				t.Errorf("schema_version is not the first field: %.60s", b.String())
			}
		})
	}
}
