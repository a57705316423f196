package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
)

// stream is the live list: server-sent events fed by the journal's
// subscription. Rows that match the page's filter are collected and sent
// once per tick, at most streamRows of them (the newest; the others are
// counted as skipped and the page says so), with the counters when they
// changed. The journal never waits for a stream: a browser that falls
// streamBuffer commits behind is dropped (the stream ends with "dropped"
// and the browser reconnects and reloads the first page), and a write that
// takes longer than streamWrite ends the stream.
func (ui *UI) stream(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.Before, f.After = nil, nil
	if ui.streams.Add(1) > maxStreams {
		ui.streams.Add(-1)
		w.Header().Set("Retry-After", "5")
		w.Header().Set("Connection", "close") // a refused live list keeps no admin connection
		http.Error(w, "too many live lists open: close a tab of the inspector", http.StatusServiceUnavailable)
		return
	}
	defer ui.streams.Add(-1)
	sub := ui.j.Subscribe(ui.buffer)
	defer sub.Close()

	rc := http.NewResponseController(w)
	// The admin listener's read and write timeouts are for short
	// requests; a stream lives on, watched by its own write deadline.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	s := &streamer{ui: ui, w: w, rc: rc, ctx: r.Context()}
	if !s.send("retry: 2000\n\n") || !s.counts() {
		return
	}
	tick := time.NewTicker(ui.cfg.Tick)
	defer tick.Stop()
	var pending []journal.Record
	skipped, changed := 0, false
	for {
		select {
		case <-r.Context().Done():
			return
		case rows, ok := <-sub.C:
			if !ok {
				if sub.Dropped() {
					ui.dropped.Add(1)
					s.send("event: dropped\ndata: {}\n\n")
				}
				return
			}
			changed = true
			for i := range rows {
				if f.Match(&rows[i]) {
					pending = append(pending, rows[i])
				}
			}
			if n := len(pending) - streamRows; n > 0 {
				skipped += n
				pending = append(pending[:0], pending[n:]...)
			}
		case <-tick.C:
			switch {
			case len(pending) > 0 && time.Since(s.lastRows) < s.pause:
				// A flood: the list was sent a full page just now.
			case len(pending) > 0:
				// Under a flood (more rows than a page since the last
				// message) the list gets a page a second: nobody reads
				// faster, and the browser's work stays small.
				s.pause = 0
				if skipped > 0 {
					s.pause = streamFlood
				}
				if !s.rows(pending, skipped) {
					return
				}
				s.lastRows = time.Now()
				pending, skipped = pending[:0], 0
				fallthrough
			case changed:
				if !s.counts() {
					return
				}
				changed = false
			case time.Since(s.last) > streamHeartbeat:
				if !s.send(": ping\n\n") {
					return
				}
			}
		}
	}
}

// Streams reports the live lists open now and how many were dropped for
// falling behind.
func (ui *UI) Streams() (open int, dropped int64) {
	return int(ui.streams.Load()), ui.dropped.Load()
}

type streamer struct {
	lastRows time.Time     // when rows were last sent
	pause    time.Duration // how long to wait before the next rows (a flood)
	ctx      context.Context
	ui       *UI
	w        http.ResponseWriter
	rc       *http.ResponseController
	last     time.Time
	buf      bytes.Buffer // the rendered HTML
	js       bytes.Buffer // the event's JSON
}

// send writes one message and flushes it, within streamWrite.
func (s *streamer) send(msg string) bool {
	_ = s.rc.SetWriteDeadline(time.Now().Add(streamWrite))
	if _, err := s.w.Write([]byte(msg)); err != nil {
		return false
	}
	s.last = time.Now()
	return s.rc.Flush() == nil
}

// event sends data as one SSE event of JSON.
func (s *streamer) event(name string, data any) bool {
	s.js.Reset()
	enc := json.NewEncoder(&s.js)
	enc.SetEscapeHTML(false) // the page parses it; the HTML inside is rendered already
	if err := enc.Encode(data); err != nil {
		return false
	}
	return s.send("event: " + name + "\ndata: " + strings.TrimSuffix(s.js.String(), "\n") + "\n\n")
}

// rows renders rows (oldest first) newest first, as the list does.
func (s *streamer) rows(rows []journal.Record, skipped int) bool {
	views := make([]rowView, len(rows))
	for i := range rows {
		views[len(rows)-1-i] = newRowView(&rows[i])
	}
	s.buf.Reset()
	if err := s.ui.tmpl.ExecuteTemplate(&s.buf, "rowlist", map[string]any{"Rows": views, "Forward": s.ui.rc.CanReplay()}); err != nil {
		return false
	}
	return s.event("rows", map[string]any{"html": s.buf.String(), "n": len(rows), "skipped": skipped})
}

// counts sends the counters, rendered as on the page.
func (s *streamer) counts() bool {
	c, err := s.ui.j.Counts(s.ctx)
	if err != nil {
		return false
	}
	notKept, _ := s.ui.j.RejectionsDropped(s.ctx)
	copiesNotKept, _ := s.ui.j.CopiesDropped(s.ctx)
	s.buf.Reset()
	if err := s.ui.tmpl.ExecuteTemplate(&s.buf, "counters", newCountsView(c, notKept, copiesNotKept)); err != nil {
		return false
	}
	return s.event("counts", map[string]any{"html": s.buf.String()})
}
