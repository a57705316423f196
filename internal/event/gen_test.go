package event_test

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/event"
)

func TestGeneratorCatalogVariables(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	g, err := event.NewGenerator(event.GenConfig{Types: []event.Weighted{{Type: "Subscriber/Created", Weight: 1}},
		FirstEvent: 7615, IDMin: 1000889, IDMax: 1000889, Now: func() time.Time { return fixed }, Payload: event.Minimal})
	if err != nil {
		t.Fatal(err)
	}
	it, err := g.Next()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"event_type":"Subscriber/Created","variables":{"i_account":1000889,"i_event":7615}}`; string(it.Body) != want {
		t.Errorf("minimal body %s, want the documented example %s", it.Body, want)
	}
	if it.IEvent != 7615 || it.Entity != "i_account=1000889" {
		t.Errorf("item %+v", it)
	}
	it2, _ := g.Next()
	if it2.IEvent != 7616 {
		t.Errorf("second i_event %d, want 7616", it2.IEvent)
	}
	ev, err := event.Decode(it2.Body)
	if err != nil {
		t.Fatalf("generated body does not decode: %v", err)
	}
	if missing, known := ev.Missing(event.Default()); !known || len(missing) > 0 {
		t.Errorf("missing %v known %t", missing, known)
	}
}

// TestGeneratorEnriched: the default body carries i_env (the configured
// one, else 1) and event_time (the emission time, UTC, to the second) on
// top of the documented example, and a type's extra variables with values
// that differ where they describe a change.
func TestGeneratorEnriched(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	env := int64(3)
	for _, tt := range []struct {
		typ  string
		iEnv *int64
		want string
	}{
		{"Subscriber/Created", nil, `{"event_type":"Subscriber/Created","variables":{"event_time":"2026-01-02 02:04:05","i_account":1000889,"i_env":1,"i_event":7615}}`},
		{"Subscriber/Created", &env, `{"event_type":"Subscriber/Created","variables":{"event_time":"2026-01-02 02:04:05","i_account":1000889,"i_env":3,"i_event":7615}}`},
	} {
		g, err := event.NewGenerator(event.GenConfig{Types: []event.Weighted{{Type: tt.typ, Weight: 1}}, IEnv: tt.iEnv,
			FirstEvent: 7615, IDMin: 1000889, IDMax: 1000889, Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		it, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		if string(it.Body) != tt.want {
			t.Errorf("%s: body %s, want %s", tt.typ, it.Body, tt.want)
		}
	}
	// every catalog type's extra variables: a curr_* differs from its prev_*
	for _, typ := range event.Default().Types() {
		g, err := event.NewGenerator(event.GenConfig{Types: []event.Weighted{{Type: typ.Name, Weight: 1}}, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		it, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		ev, err := event.Decode(it.Body)
		if err != nil {
			t.Fatalf("%s: %v", typ.Name, err)
		}
		if event.Of(ev.Variables) != event.Enriched {
			t.Errorf("%s: %s is not enriched", typ.Name, it.Body)
		}
		for name, v := range ev.Variables {
			if prev, ok := strings.CutPrefix(name, "curr_"); ok {
				if p, ok := ev.Variables["prev_"+prev]; ok && p == v {
					t.Errorf("%s: %s and prev_%s are both %v: no change", typ.Name, name, prev, v)
				}
			}
		}
		for _, v := range typ.Variables {
			if _, ok := ev.Variables[v.Name]; !ok {
				t.Errorf("%s: enriched body %s lacks the catalog's %s", typ.Name, it.Body, v.Name)
			}
		}
	}
}

func TestGeneratorStringIDsAndMix(t *testing.T) {
	t.Parallel()
	mix, err := event.ParseMix("Subscriber/Created=3, Customer/Updated")
	if err != nil {
		t.Fatal(err)
	}
	g, err := event.NewGenerator(event.GenConfig{Types: mix, StringIDs: true, Count: 4000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for {
		it, err := g.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		counts[it.Type]++
		var body struct {
			Variables map[string]any `json:"variables"`
		}
		if err := json.Unmarshal(it.Body, &body); err != nil {
			t.Fatal(err)
		}
		for k, v := range body.Variables {
			if _, ok := v.(string); strings.HasPrefix(k, "i_") && !ok {
				t.Fatalf("--string-ids: %s is %T in %s", k, v, it.Body)
			}
		}
	}
	if c := counts["Subscriber/Created"]; c < 2850 || c > 3150 || counts["Customer/Updated"]+c != 4000 {
		t.Errorf("mix 3:1 over 4000 gave %v", counts)
	}
	for _, bad := range []string{"", "Subscriber", "A/B=0", "A/B=x"} {
		if _, err := event.ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
}

func TestReplay(t *testing.T) {
	t.Parallel()
	in := `{"event_type":"Subscriber/Created","variables":{"i_account":1000889,"i_event":"5"}}

{"event_type":"Customer/Updated","variables":{"i_customer":42}}
{"event_type":"Customer/Updated","variables":[]}
`
	r := event.NewReplay(strings.NewReader(in), "ev.jsonl", 1)
	a, err := r.Next()
	if err != nil || a.IEvent != 5 || string(a.Body) != `{"event_type":"Subscriber/Created","variables":{"i_account":1000889,"i_event":"5"}}` {
		t.Errorf("first: %+v %v (the string id must stay a string)", a, err)
	}
	b, err := r.Next()
	if err != nil || b.IEvent != 6 {
		t.Errorf("second: %+v %v, want i_event 6 assigned", b, err)
	}
	if _, err := r.Next(); err == nil || !strings.Contains(err.Error(), "ev.jsonl:4") {
		t.Errorf("bad line: %v, want a positioned error", err)
	}
}

// TestGeneratorIEnv: SIM/* bodies carry i_env; it is the token's claim
// when one is given, 1 otherwise.
func TestGeneratorIEnv(t *testing.T) {
	t.Parallel()
	three := int64(3)
	for _, tt := range []struct {
		env  *int64
		want any
	}{{nil, json.Number("1")}, {&three, json.Number("3")}} {
		g, err := event.NewGenerator(event.GenConfig{Types: []event.Weighted{{Type: "SIM/Updated", Weight: 1}}, IEnv: tt.env})
		if err != nil {
			t.Fatal(err)
		}
		it, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		ev, err := event.Decode(it.Body)
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.Variables["i_env"]; got != tt.want {
			t.Errorf("IEnv %v: body i_env %v, want %v (%s)", tt.env, got, tt.want, it.Body)
		}
	}
}
