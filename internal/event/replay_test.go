package event_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/event"
)

// recorded are bodies as a receiver may have recorded them: key order,
// spacing, escapes, extra fields, a string i_event, HTML characters that
// encoding/json would escape, and bytes that are not UTF-8.
var recorded = []string{
	`{"variables": {"i_event": 7615, "i_account": 1000889}, "event_type": "Subscriber/Created"}`,
	`{"event_type":"Customer/Updated","variables":{"i_customer":"42","i_event":"7616","note":"<a&b>"},"extra":{"x":[1,2]}}`,
	"{ \"event_type\" : \"SIM/Updated\" ,\n \"variables\" : { \"i_env\" : 3 , \"i_event\" : 7617 , \"name\": \"caf\\u00e9\" } }",
	"{\"event_type\":\"Account/Updated\",\"variables\":{\"i_account\":5,\"i_event\":7618,\"raw\":\"\xff\xfe\"}}",
}

func replayLines(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for i, body := range recorded {
		var line []byte
		var err error
		if i == 3 { // not UTF-8: journal --json writes body_base64
			line, err = json.Marshal(map[string]any{"i_event": 7618, "body_base64": base64.StdEncoding.EncodeToString([]byte(body))})
		} else {
			line, err = json.Marshal(map[string]any{"i_event": 1, "event_type": "ignored/When-body-is-there", "variables": map[string]int{"i_event": 1}, "body": body, "deliveries": 2})
		}
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteString("\n")
	}
	return b.String()
}

func TestReplayRecordedBodiesByteForByte(t *testing.T) {
	t.Parallel()
	r := event.NewReplay(strings.NewReader(replayLines(t)), "journal.jsonl", 1)
	wantTypes := []string{"Subscriber/Created", "Customer/Updated", "SIM/Updated", "Account/Updated"}
	for i, body := range recorded {
		it, err := r.Next()
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if string(it.Body) != body {
			t.Errorf("line %d: body\n%q\nwant the recorded bytes\n%q", i+1, it.Body, body)
		}
		if it.IEvent != int64(7615+i) || it.Type != wantTypes[i] {
			t.Errorf("line %d: i_event %d type %q: want them from the body (%d, %s)", i+1, it.IEvent, it.Type, 7615+i, wantTypes[i])
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last line: %v, want EOF", err)
	}
}

func TestReplayRenumberRewritesOnlyIEvent(t *testing.T) {
	t.Parallel()
	r := event.NewReplay(strings.NewReader(replayLines(t)+`{"event_type":"Customer/Updated","variables":{"i_customer":42,"i_event":"3"}}`+"\n"), "journal.jsonl", 100).Renumber(true)
	want := []string{
		`{"variables": {"i_event": 100, "i_account": 1000889}, "event_type": "Subscriber/Created"}`,
		`{"event_type":"Customer/Updated","variables":{"i_customer":"42","i_event":"101","note":"<a&b>"},"extra":{"x":[1,2]}}`,
		"{ \"event_type\" : \"SIM/Updated\" ,\n \"variables\" : { \"i_env\" : 3 , \"i_event\" : 102 , \"name\": \"caf\\u00e9\" } }",
		"{\"event_type\":\"Account/Updated\",\"variables\":{\"i_account\":5,\"i_event\":103,\"raw\":\"\xff\xfe\"}}",
		`{"event_type":"Customer/Updated","variables":{"i_customer":42,"i_event":"104"}}`, // the encoded form keeps a string a string
	}
	for i, w := range want {
		it, err := r.Next()
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if string(it.Body) != w || it.IEvent != int64(100+i) {
			t.Errorf("line %d: i_event %d body\n%q\nwant %d\n%q", i+1, it.IEvent, it.Body, 100+i, w)
		}
	}
}

func TestReplayBadLines(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, in, want string }{
		{"invalid JSON has a column", "\n  {\"body\": nope}\n", "ev.jsonl:2:13: invalid event body: invalid JSON"},
		{"both forms of body", `{"body":"{}","body_base64":"e30="}`, "ev.jsonl:1: invalid event body: both body and body_base64"},
		{"bad base64", `{"body_base64":"%%%"}`, "ev.jsonl:1: invalid event body: body_base64 is not standard padded base64"},
		{"a body that is no event", `{"body":"{\"event_type\":\"X/Y\",\"variables\":{}}"}`, "ev.jsonl:1: body: missing i_event"},
		{"a body that is not JSON", `{"body":"hello"}`, "ev.jsonl:1: body: invalid event body: not a JSON object"},
		{"neither form", `{"i_event":3}`, `ev.jsonl:1: invalid event body: want {"body": …} or {"event_type": …, "variables": {…}}`},
		{"not an object", `[1,2]`, "ev.jsonl:1: invalid event body: want a JSON object"},
		{"a line too long", `{"body":"` + strings.Repeat("x", event.MaxReplayLine) + `"}`, "ev.jsonl:1: invalid event body: line longer than 4 MiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := event.CheckReplay(strings.NewReader(tt.in), "ev.jsonl", 1, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, event.ErrBody) && !errors.Is(err, event.ErrNoEvent) {
				t.Errorf("CheckReplay = %d, %v; want %q", n, err, tt.want)
			}
		})
	}
	if n, err := event.CheckReplay(strings.NewReader(replayLines(t)), "ev.jsonl", 1, true); err != nil || n != int64(len(recorded)) {
		t.Errorf("CheckReplay of good lines = %d, %v", n, err)
	}
}

func TestSetIEvent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{`{"event_type":"A/B","variables":{"i_event":7}}`, `{"event_type":"A/B","variables":{"i_event":99}}`},
		{`{"event_type":"A/B","variables":{"i_event":"7","x":{"i_event":1}}}`, `{"event_type":"A/B","variables":{"i_event":"99","x":{"i_event":1}}}`},
		// a receiver may read either duplicate: both are rewritten
		{`{"variables":{"i_event":1},"event_type":"A/B","variables":{"i_event":2}}`, `{"variables":{"i_event":99},"event_type":"A/B","variables":{"i_event":99}}`},
		{`{"event_type":"A/B","variables":{"i_event":7},"meta":{"variables":{"i_event":1}}}`, `{"event_type":"A/B","variables":{"i_event":99},"meta":{"variables":{"i_event":1}}}`},
	} {
		got, err := event.SetIEvent([]byte(tt.in), 99)
		if err != nil || string(got) != tt.want {
			t.Errorf("SetIEvent(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := event.SetIEvent([]byte(`{"event_type":"A/B","variables":{"i_account":1}}`), 9); !errors.Is(err, event.ErrNoEvent) {
		t.Errorf("no i_event: %v, want ErrNoEvent", err)
	}
}

func TestDidYouMean(t *testing.T) {
	t.Parallel()
	c := event.Default()
	if got := c.DidYouMean("Subscriber/Creatd"); len(got) != 1 || got[0] != "Subscriber/Created" {
		t.Errorf("DidYouMean(Subscriber/Creatd) = %v", got)
	}
	if got := c.DidYouMean("Zzz/Qqqqqqqqqqqqq"); len(got) != 0 {
		t.Errorf("DidYouMean of nothing close = %v", got)
	}
}

// TestReplayAcceptsSchemaVersion: journal --json lines carry schema_version
// (docs/json.md); lines with and without it replay alike, in both forms.
func TestReplayAcceptsSchemaVersion(t *testing.T) {
	t.Parallel()
	body := `{"event_type":"Subscriber/Created","variables":{"i_account":5,"i_event":7}}`
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	in := `{"i_event":7,"body":` + string(b) + "}\n" +
		`{"schema_version":1,"i_event":7,"body":` + string(b) + "}\n" +
		`{"event_type":"Subscriber/Created","variables":{"i_account":5,"i_event":8}}` + "\n" +
		`{"schema_version":1,"event_type":"Subscriber/Created","variables":{"i_account":5,"i_event":8}}` + "\n"
	p := event.NewReplay(strings.NewReader(in), "ev.jsonl", 1)
	var got []event.Item
	for {
		it, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, it)
	}
	if len(got) != 4 || string(got[0].Body) != body || string(got[1].Body) != body ||
		string(got[2].Body) != string(got[3].Body) || got[2].IEvent != 8 || got[3].IEvent != 8 {
		t.Errorf("replayed %+v", got)
	}
}
