package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/term"
)

// TestDurabilitySection: the durability verdict shows in the text report
// (each restart, the counts, each failed entity, escaped), the HTML page
// and the JSON summary under the keys docs/json.md names.
func TestDurabilitySection(t *testing.T) {
	t.Parallel()
	again := 120.5
	d := &entity.Durability{
		Restarts:     []entity.Restart{{N: 1, At: time.Unix(0, 0), AtMS: 250, TookMS: 80, InFlight: 2, AnsweredAgainMS: &again}},
		Acknowledged: 10, LostAfter200: 1,
		Entities: []entity.DurableFailure{{Entity: "did/1\x1b[31m", Kind: entity.LostAfter200, IEvents: []int64{5},
			Words: "lost after 200: Updated 5 answered 200 at +0.20s, restart 1 ran +0.25s to +0.33s"}},
	}
	s := &Summary{Durability: d}
	var text strings.Builder
	if err := SummaryText(&text, s, term.Layout{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"restart\t1\tat +250ms\texit 0\ttook 80ms\t2 in flight\tanswered again after 120.5ms", "acknowledged\t10", "lost after 200\t1",
		"applied twice\t0", "lost_after_200\tdid/1"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "\x1b") {
		t.Errorf("an entity id reached the text unescaped:\n%s", text.String())
	}
	var page bytes.Buffer
	if err := HTML(&page, Page{Title: "t", Durability: d}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), "Durability (--restart-cmd)") || !strings.Contains(page.String(), "<td>lost_after_200</td>") {
		t.Errorf("the HTML page lacks the durability section:\n%s", page.String())
	}
	var js bytes.Buffer
	if err := SummaryJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Durability map[string]any `json:"durability"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"restarts", "acknowledged", "lost_after_200", "applied_twice", "entities"} {
		if _, ok := got.Durability[k]; !ok {
			t.Errorf("the JSON durability lacks %q: %v", k, got.Durability)
		}
	}
}
