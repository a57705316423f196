package event_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/event"
)

// FuzzReplayLine feeds arbitrary --events lines to the replay: it never
// panics; what it accepts is a valid ESPF event whose i_event and type are
// the item's; a recorded body is sent byte for byte; renumbered, only the
// i_event changes (every other variable decodes the same).
//
//	go test -run '^$' -fuzz FuzzReplayLine -fuzztime 60s ./internal/event
func FuzzReplayLine(f *testing.F) {
	for _, body := range recorded {
		f.Add(string(bodyLineForFuzz(body)))
	}
	for _, s := range []string{
		`{"event_type":"Subscriber/Created","variables":{"i_account":1000889,"i_event":7615}}`,
		`{"event_type":"Customer/Updated","variables":{"i_customer":"42"}}`,
		`{"body":"{\"variables\":{\"i_event\":1},\"event_type\":\"A/B\",\"variables\":{\"i_event\":2}}"}`,
		`{"body":"{\"Variables\":{\"i_event\":1},\"event_type\":\"A/B\"}"}`,
		`{"body":"{\"event_type\":\"A/B\",\"variables\":{\"i_event\":\"00012\"}}"}`,
		`{"body":"{\"event_type\":\"A/B\",\"variables\":{\"i_event\":1e3}}"}`,
		`{"body_base64":"e30="}`,
		`{"body":"x","body_base64":"e30="}`,
		`[1]`, `nul`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n") {
			return // one line
		}
		for _, renumber := range []bool{false, true} {
			it, err := event.NewReplay(strings.NewReader(line), "f", 500).Renumber(renumber).Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "f:") {
					t.Fatalf("error %q does not name the line", err)
				}
				continue
			}
			ev, err := event.Decode(it.Body)
			if err != nil {
				t.Fatalf("accepted line %q gives a body that is no event: %v (%q)", line, err, it.Body)
			}
			id, _ := ev.IEvent()
			if id != it.IEvent || ev.Type != it.Type {
				t.Fatalf("item %d %q, body says %d %q", it.IEvent, it.Type, id, ev.Type)
			}
			if renumber && it.IEvent != 500 {
				t.Fatalf("renumbered to %d, want 500", it.IEvent)
			}
			raw, hasRaw := recordedBody(line)
			if !hasRaw {
				continue
			}
			if !renumber {
				if string(it.Body) != string(raw) {
					t.Fatalf("recorded body %q sent as %q", raw, it.Body)
				}
				continue
			}
			orig, err := event.Decode(raw)
			if err != nil {
				t.Fatalf("a line whose body is no event was accepted: %q", raw)
			}
			delete(orig.Variables, "i_event")
			delete(ev.Variables, "i_event")
			if orig.Type != ev.Type || !reflect.DeepEqual(orig.Variables, ev.Variables) {
				t.Fatalf("renumbering changed more than i_event:\n%q\n%q", raw, it.Body)
			}
		}
	})
}

func bodyLineForFuzz(body string) []byte {
	b, _ := json.Marshal(map[string]string{"body_base64": base64.StdEncoding.EncodeToString([]byte(body))})
	return b
}

// recordedBody is the body a line carries, as the replay reads it.
func recordedBody(line string) ([]byte, bool) {
	var l struct {
		Body       *string `json:"body"`
		BodyBase64 *string `json:"body_base64"`
	}
	if json.Unmarshal([]byte(strings.TrimSpace(line)), &l) != nil {
		return nil, false
	}
	switch {
	case l.Body != nil:
		return []byte(*l.Body), true
	case l.BodyBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*l.BodyBase64)
		return b, err == nil
	}
	return nil, false
}
