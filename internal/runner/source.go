package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/scenario"
)

// StdinFile is the events.file (send --events) that reads Options.Stdin.
const StdinFile = "-"

// source builds the event source the scenario describes, and what closes
// it. A file is checked line by line before the first request (a bad line
// is an *InputError naming file:line), then replayed; standard input, and
// a pipe or a device given as a file, is read to its end into a temporary
// file first, removed when the run ends.
func source(s *scenario.Scenario, seed int64, stdin io.Reader) (event.Source, func(), error) {
	ev := s.Events
	none := func() {}
	switch {
	case ev.File != "":
		return replay(ev, stdin)
	case len(ev.List) > 0:
		var buf bytes.Buffer
		for _, e := range ev.List {
			vars := e.Variables
			if vars == nil {
				vars = map[string]any{}
			}
			if err := json.NewEncoder(&buf).Encode(map[string]any{"event_type": e.Type, "variables": vars}); err != nil {
				return nil, none, fmt.Errorf("events.list: %w", err)
			}
		}
		return event.NewReplay(&buf, s.File+": events.list", ev.Gen.FirstEvent), none, nil
	case ev.Lifecycle != nil:
		lc := *ev.Lifecycle
		lc.Seed, lc.FirstEvent, lc.IDMin, lc.IDMax, lc.StringIDs = seed, ev.Gen.FirstEvent, ev.Gen.IDMin, ev.Gen.IDMax, ev.Gen.StringIDs
		lc.Payload, lc.IEnv = ev.Gen.Payload, ev.Gen.IEnv
		l, err := event.NewLifecycle(lc)
		if err != nil {
			return nil, none, &InputError{"events.lifecycle", err}
		}
		return l, none, nil
	}
	gc := ev.Gen
	gc.Seed = seed
	g, err := event.NewGenerator(gc)
	if err != nil {
		return nil, none, &InputError{"events", err}
	}
	return g, none, nil
}

// replay opens events.file (StdinFile: stdin), checks every line, and
// returns the replay, renumbered when events.renumber is set.
func replay(ev scenario.Events, stdin io.Reader) (event.Source, func(), error) {
	none := func() {}
	name := ev.File
	var src io.Reader
	var f *os.File
	closeFn := none
	if name == StdinFile {
		name, src = "stdin", stdin
		if src == nil {
			src = bytes.NewReader(nil)
		}
	} else {
		in, err := os.Open(name)
		if err != nil {
			return nil, none, &InputError{"events.file", err}
		}
		if st, err := in.Stat(); err == nil && st.Mode().IsRegular() {
			f, closeFn = in, func() { _ = in.Close() }
		} else {
			src = in
			defer in.Close()
		}
	}
	if f == nil {
		tmp, err := os.CreateTemp("", "espfctl-events-*.jsonl")
		if err != nil {
			return nil, none, fmt.Errorf("events.file %s: buffer it: %w", name, err)
		}
		f, closeFn = tmp, func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }
		if _, err := io.Copy(tmp, src); err != nil {
			closeFn()
			return nil, none, fmt.Errorf("events.file %s: read: %w", name, err)
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			closeFn()
			return nil, none, fmt.Errorf("events.file %s: %w", name, err)
		}
	}
	n, err := event.CheckReplay(f, name, ev.Gen.FirstEvent, ev.Renumber)
	if err != nil {
		closeFn()
		return nil, none, &InputError{"events.file", err}
	}
	if n == 0 {
		closeFn()
		return nil, none, &InputError{"events.file", fmt.Errorf("%s holds no events: nothing to send", name)}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		closeFn()
		return nil, none, fmt.Errorf("events.file %s: %w", name, err)
	}
	// the replay reads lazily, so the file stays open for the run
	return event.NewReplay(f, name, ev.Gen.FirstEvent).Renumber(ev.Renumber), closeFn, nil
}
