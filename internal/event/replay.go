package event

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// MaxReplayLine is the longest line Replay reads.
const MaxReplayLine = 4 << 20

// Replay reads events from JSONL and yields them in order. A line is one
// JSON object of either form:
//
//   - with "body" (a JSON string) or "body_base64": the request body as a
//     receiver recorded it (what `espfctl journal --json` prints). Those
//     bytes are sent byte for byte; event_type and i_event come from the
//     parsed body, which must be a valid ESPF event.
//   - {"event_type": …, "variables": {…}}: encoded as the generator does (a
//     line without i_event gets the next number).
//
// With renumbering, every event gets the next number from firstEvent, and
// in a recorded body only the i_event value's bytes are rewritten. Errors
// name the line (name:line, and the column for invalid JSON).
type Replay struct {
	sc       *bufio.Scanner
	name     string
	line     int
	next     int64
	renumber bool
}

// NewReplay reads from r; name is used in error messages.
func NewReplay(r io.Reader, name string, firstEvent int64) *Replay {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxReplayLine)
	if firstEvent <= 0 {
		firstEvent = 1
	}
	return &Replay{sc: sc, name: name, next: firstEvent}
}

// Renumber makes the replay give every event a new i_event, from
// firstEvent up, instead of the recorded one. It returns p.
func (p *Replay) Renumber(on bool) *Replay {
	p.renumber = on
	return p
}

// replayLine is one line of either form. Pointers tell absent from empty.
type replayLine struct {
	Body       *string         `json:"body"`
	BodyBase64 *string         `json:"body_base64"`
	Type       json.RawMessage `json:"event_type"`
	Variables  json.RawMessage `json:"variables"`
}

// Next implements Source.
func (p *Replay) Next() (Item, error) {
	for p.sc.Scan() {
		p.line++
		raw := p.sc.Bytes()
		b := bytes.TrimLeft(raw, " \t\r")
		lead := len(raw) - len(b)
		b = bytes.TrimRight(b, " \t\r")
		if len(b) == 0 {
			continue
		}
		it, err := p.parse(b, lead)
		if err != nil {
			return Item{}, err
		}
		return it, nil
	}
	if err := p.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Item{}, fmt.Errorf("%s:%d: %w: line longer than %d MiB", p.name, p.line+1, ErrBody, MaxReplayLine>>20)
		}
		return Item{}, fmt.Errorf("read %s: %w", p.name, err)
	}
	return Item{}, io.EOF
}

func (p *Replay) errorf(format string, a ...any) error {
	return fmt.Errorf("%s:%d: %w", p.name, p.line, fmt.Errorf(format, a...))
}

func (p *Replay) parse(b []byte, lead int) (Item, error) {
	var ln replayLine
	if err := json.Unmarshal(b, &ln); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Item{}, fmt.Errorf("%s:%d:%d: %w: invalid JSON: %v", p.name, p.line, lead+int(se.Offset), ErrBody, err)
		}
		return Item{}, p.errorf("%w: want a JSON object with body, body_base64, or event_type and variables: %v", ErrBody, err)
	}
	switch {
	case ln.Body != nil && ln.BodyBase64 != nil:
		return Item{}, p.errorf("%w: both body and body_base64: give one", ErrBody)
	case ln.Body != nil:
		return p.recorded([]byte(*ln.Body), "body")
	case ln.BodyBase64 != nil:
		body, err := base64.StdEncoding.DecodeString(*ln.BodyBase64)
		if err != nil {
			return Item{}, p.errorf("%w: body_base64 is not standard padded base64: %v", ErrBody, err)
		}
		return p.recorded(body, "body_base64")
	}
	return p.encoded(b)
}

// recorded replays a body byte for byte (only its i_event rewritten when
// renumbering).
func (p *Replay) recorded(body []byte, field string) (Item, error) {
	ev, err := Decode(body)
	if err != nil {
		return Item{}, p.errorf("%s: %w", field, err)
	}
	id, _ := ev.IEvent() // Decode checked it
	if p.renumber {
		id = p.next
		if body, err = SetIEvent(body, id); err != nil {
			return Item{}, p.errorf("%s: %w", field, err)
		}
	}
	p.next = max(p.next, id+1)
	return Item{IEvent: id, Type: ev.Type, Entity: ev.Entity(), Body: body}, nil
}

// encoded builds the body of an {event_type, variables} line.
func (p *Replay) encoded(b []byte) (Item, error) {
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		return Item{}, p.errorf("%w: %v", ErrBody, err)
	}
	if ev.Type == "" || ev.Variables == nil {
		return Item{}, p.errorf("%w: want {\"body\": …} or {\"event_type\": …, \"variables\": {…}}", ErrBody)
	}
	if !utf8.ValidString(ev.Type) {
		return Item{}, p.errorf("%w: event_type is not valid UTF-8", ErrBody)
	}
	old, had := ev.Variables["i_event"]
	switch {
	case p.renumber && had:
		if _, isString := old.(string); isString {
			ev.Variables["i_event"] = strconv.FormatInt(p.next, 10)
		} else {
			ev.Variables["i_event"] = p.next
		}
	case !had:
		ev.Variables["i_event"] = p.next
	}
	id, err := ev.IEvent()
	if err != nil {
		return Item{}, p.errorf("%w", err)
	}
	p.next = max(p.next, id+1)
	body, err := ev.Marshal()
	if err != nil {
		return Item{}, p.errorf("encode: %w", err)
	}
	if _, err := Decode(body); err != nil { // what a receiver will check: Group/Action, an i_event
		return Item{}, p.errorf("%w", err)
	}
	return Item{IEvent: id, Type: ev.Type, Entity: ev.Entity(), Body: body}, nil
}

// CheckReplay reads a whole replay (as Next would, with the same
// numbering) and returns how many events it holds, or the first bad line's
// error: send checks its --events file before the first request.
func CheckReplay(r io.Reader, name string, firstEvent int64, renumber bool) (int64, error) {
	p := NewReplay(r, name, firstEvent).Renumber(renumber)
	var n int64
	for {
		_, err := p.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// SetIEvent returns body with the value of variables.i_event replaced by
// id and every other byte kept: an integer stays an integer, a string of
// digits stays a string. It fails when body has no i_event to rewrite.
func SetIEvent(body []byte, id int64) ([]byte, error) {
	spans, err := ieventSpans(body)
	if err != nil {
		return nil, err
	}
	if len(spans) == 0 {
		return nil, fmt.Errorf("%w: no variables.i_event to renumber", ErrNoEvent)
	}
	num := strconv.FormatInt(id, 10)
	var out bytes.Buffer
	out.Grow(len(body) + 20)
	last := 0
	for _, s := range spans {
		out.Write(body[last:s.start])
		if s.quoted {
			out.WriteString(`"` + num + `"`)
		} else {
			out.WriteString(num)
		}
		last = s.end
	}
	out.Write(body[last:])
	res := out.Bytes()
	// The receiver's view must agree with ours: decode the result.
	ev, err := Decode(res)
	if err != nil {
		return nil, fmt.Errorf("renumbered body: %w", err)
	}
	if got, _ := ev.IEvent(); got != id {
		return nil, fmt.Errorf("%w: cannot renumber: the body's i_event reads as %d after the rewrite", ErrIEvent, got)
	}
	return res, nil
}

type span struct {
	start, end int
	quoted     bool
}

// ieventSpans finds the byte ranges of every i_event value directly inside
// every top-level "variables" object (a receiver decoding the body may take
// either duplicate, so all are rewritten).
func ieventSpans(body []byte) ([]span, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("%w: not a JSON object", ErrBody)
	}
	var spans []span
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBody, err)
		}
		if key, _ := k.(string); !equalFoldASCII(key, "variables") {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrBody, err)
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrBody, err)
			}
			if d, ok := t.(json.Delim); ok && d == '[' {
				return nil, fmt.Errorf("%w: variables is not an object", ErrBody)
			}
			continue // a scalar variables, skipped: Decode will refuse it
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrBody, err)
			}
			keyEnd := int(dec.InputOffset())
			if key, _ := k.(string); key != "i_event" {
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return nil, fmt.Errorf("%w: %v", ErrBody, err)
				}
				continue
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrBody, err)
			}
			end := int(dec.InputOffset())
			start := end - len(v)
			if start < keyEnd || !bytes.Equal(body[start:end], v) {
				return nil, fmt.Errorf("%w: cannot locate i_event's value", ErrBody)
			}
			spans = append(spans, span{start: start, end: end, quoted: len(v) > 0 && v[0] == '"'})
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, fmt.Errorf("%w: %v", ErrBody, err)
		}
	}
	return spans, nil
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
