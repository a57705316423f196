package entity_test

import (
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
)

// TestJudgeDurability: each entity read back after restarts is judged
// once: an event answered 200 before a restart that the Application does
// not show is lost after 200; more applications than distinct delivered
// events is applied twice, naming the event re-sent across the restart; a
// mismatch with no event answered before a restart keeps the final-state
// explanation.
func TestJudgeDurability(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	restarts := []entity.Restart{{N: 1, At: s(1000), TookMS: 100, ExitCode: 0}}
	key := entity.Key{Group: entity.Subscriber, ID: "7"}
	exp := entity.Expectation{Key: key, Known: true, Want: entity.State{IEvent: 23, Exists: true},
		Delivered: []entity.Step{{IEvent: 17, Action: entity.Created}, {IEvent: 23, Action: entity.Updated}}}
	traces := map[int64]*entity.Trace{
		17: {FirstSent: s(100), OK: []time.Time{s(110)}},
		23: {FirstSent: s(900), OK: []time.Time{s(950), s(1950)}}, // a copy answered 200 after the restart
	}
	late := map[int64]*entity.Trace{17: traces[17], 23: {FirstSent: s(1500), OK: []time.Time{s(1510)}}}
	tests := []struct {
		name        string
		probe       entity.Probe
		traces      map[int64]*entity.Trace
		lost, twice int64
		kind, words string
	}{
		{"held", entity.Probe{Exp: exp, Got: exp.Want, HasIEvent: true, Applied: 2, HasApplied: true}, traces, 0, 0, "", ""},
		{"lost after 200", entity.Probe{Exp: exp, Got: entity.State{IEvent: 17, Exists: true}, HasIEvent: true, Applied: 1, HasApplied: true},
			traces, 1, 0, entity.LostAfter200, "Updated 23 answered 200 at +0.95s, restart 1 ran +1.00s to +1.10s"},
		{"applied twice", entity.Probe{Exp: exp, Got: exp.Want, HasIEvent: true, Applied: 3, HasApplied: true},
			traces, 0, 1, entity.AppliedTwice, "Updated 23 first sent at +0.90s, answered 200 at +0.95s and +1.95s, restart 1 ran +1.00s to +1.10s"},
		{"lost, but not across a restart", entity.Probe{Exp: exp, Got: entity.State{IEvent: 17, Exists: true}, HasIEvent: true, Applied: 1, HasApplied: true},
			late, 0, 0, entity.Mismatched, "the newer changes lost"},
		{"no applied: doubles unseen", entity.Probe{Exp: exp, Got: exp.Want, HasIEvent: true}, traces, 0, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := entity.JudgeDurability([]entity.Probe{tt.probe}, tt.traces, restarts, t0, 0)
			if d.LostAfter200 != tt.lost || d.AppliedTwice != tt.twice || d.Acknowledged != 2 {
				t.Errorf("lost %d, twice %d, acknowledged %d; want %d, %d, 2", d.LostAfter200, d.AppliedTwice, d.Acknowledged, tt.lost, tt.twice)
			}
			if d.Passed() != (tt.lost == 0 && tt.twice == 0) {
				t.Errorf("Passed() = %t", d.Passed())
			}
			if tt.kind == "" {
				if len(d.Entities) != 0 {
					t.Errorf("entities %+v, want none", d.Entities)
				}
				return
			}
			if len(d.Entities) != 1 || d.Entities[0].Kind != tt.kind || !strings.Contains(d.Entities[0].Words, tt.words) {
				t.Fatalf("entities %+v, want one %s saying %q", d.Entities, tt.kind, tt.words)
			}
		})
	}
}
