package report

import (
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/verify"
)

// TestLifecycleSectionsAreInert: entity ids come from the events (a DID
// number is any string a replayed file holds), so every line that shows
// one is escaped.
func TestLifecycleSectionsAreInert(t *testing.T) {
	t.Parallel()
	const hostile = "1\x1b[31m\nforged\tcol"
	s := &Summary{
		Reordered:  &entity.Reordered{Entities: 1, Events: 1, ByKind: map[entity.Kind]int64{entity.CreateAfterDelete: 1}},
		FinalState: &entity.FinalState{Checked: 1, Mismatch: 1, Mismatches: []entity.Mismatch{{Entity: "did/" + hostile, Words: "emitted " + hostile}}},
		APICalls:   []espfapi.MethodCalls{{Method: "Account/get_account_info", Calls: 3, Faults: 1}},
	}
	var b strings.Builder
	if err := SummaryText(&b, s, term.Layout{}); err != nil {
		t.Fatal(err)
	}
	if err := EntityStates(&b, []verify.EntityState{{Entity: "did/" + hostile}}, term.Layout{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\nforged") {
		t.Errorf("a hostile id reached the output unescaped:\n%s", out)
	}
	for _, want := range []string{"reordered\tCreated delivered after the Deleted\t1", "mismatch\tdid/1", "api\tAccount/get_account_info\t3\t1", "did/1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
