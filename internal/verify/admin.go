package verify

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
)

// adminWriteWindow is how long a reader of /events may take over each
// chunk of the listing before the connection is given up.
const adminWriteWindow = 30 * time.Second

// Admin serves what is for the operator, not for the ESPF: GET /healthz,
// /metrics (Prometheus), /events (the journal as JSON lines, paged) and
// /rejections (the deliveries not answered 200). serve runs it on its own
// loopback listener (--admin-listen), never on the delivery listener.
func (rc *Receiver) Admin() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", rc.serveHealth)
	mux.Handle("GET /metrics", rc.c.handler())
	mux.HandleFunc("GET /events", rc.serveEvents)
	mux.HandleFunc("GET /rejections", rc.serveRejections)
	return mux
}

// Health lists what is wrong, or nothing: a journal that cannot write
// (deliveries are answered 500 meanwhile), a delivery-line writer blocked
// for StuckAfter or longer (stdout not read).
func (rc *Receiver) Health() []string {
	var bad []string
	if since, err := rc.journal.WriteFailure(); err != nil {
		bad = append(bad, fmt.Sprintf("journal cannot write since %s: %s; deliveries are answered 500 (the ESPF re-sends them) until it can",
			since.UTC().Format(time.RFC3339), Escape(err.Error())))
	}
	if l := rc.cfg.Log; l != nil {
		if d, stuck := l.Stuck(); stuck {
			bad = append(bad, fmt.Sprintf("delivery-line writer (stdout) stuck for %s: %d lines dropped; deliveries are still answered",
				d.Round(time.Second), l.Dropped()))
		}
		if err := l.Err(); err != nil {
			bad = append(bad, fmt.Sprintf("delivery-line writer (stdout) failed: %v: %d lines dropped", err, l.Dropped()))
		}
	}
	return bad
}

func (rc *Receiver) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if bad := rc.Health(); len(bad) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, strings.Join(bad, "\n")+"\n")
		return
	}
	io.WriteString(w, "ok\n")
}

// registerGauges adds the metrics read from other parts at scrape time.
func (rc *Receiver) registerGauges() {
	j := rc.journal
	rc.c.counter("espf_rejections_dropped_total", "Rejected deliveries not kept in the journal: the oldest beyond --max-rejected, or not queued in a flood.",
		func() float64 { return float64(j.Stats().RejectionsDropped) })
	rc.c.counter("espf_copies_dropped_total", "Duplicate copies (later deliveries answered 200, with their raw capture) deleted from the journal beyond --max-copies; the events' deliveries still count them.",
		func() float64 { return float64(j.Stats().CopiesDropped) })
	rc.c.gauge("espf_fail_first_counters", "Events whose --fail-first failures are being counted (bounded).",
		func() float64 { return float64(rc.faults.counters()) })
	if l := rc.cfg.Log; l != nil {
		rc.c.counter("espf_log_lines_dropped_total", "Delivery lines dropped because stdout was not being read.",
			func() float64 { return float64(l.Dropped()) })
		rc.c.gauge("espf_log_writer_blocked_seconds", "How long the write of delivery lines to stdout under way has blocked (0 when idle).",
			func() float64 { d, _ := l.Stuck(); return d.Seconds() })
	}
}

// WatchConns exports a connection-limited listener's figures on /metrics.
func (rc *Receiver) WatchConns(l *LimitListener) {
	rc.c.gauge("espf_connections_open", "Delivery connections open now.", func() float64 { return float64(l.Open()) })
	rc.c.gauge("espf_connections_max", "The --max-conns cap on delivery connections.", func() float64 { return float64(l.Max()) })
	rc.c.counter("espf_connections_waited_total", "Connections that waited under --max-conns: every slot held by a busy connection.",
		func() float64 { return float64(l.Waited()) })
	rc.c.gauge("espf_connections_idle", "Delivery connections open and idle (keep-alive, between requests).", func() float64 { return float64(l.Idle()) })
	rc.c.counter("espf_connections_idle_closed_total", "Idle keep-alive connections closed to make room for a new one under --max-conns.",
		func() float64 { return float64(l.Evicted()) })
}

// chunkWriter flushes its buffer to an HTTP answer with a fresh write
// deadline each time, so that a reader that stops reading is cut off
// after adminWriteWindow while one that reads slowly is served.
type chunkWriter struct {
	*bufio.Writer
	rc *http.ResponseController
}

func newChunkWriter(w http.ResponseWriter) *chunkWriter {
	cw := &chunkWriter{rc: http.NewResponseController(w)}
	cw.Writer = bufio.NewWriterSize(writerFunc(func(p []byte) (int, error) {
		_ = cw.rc.SetWriteDeadline(time.Now().Add(adminWriteWindow))
		n, err := w.Write(p)
		if err == nil {
			err = cw.rc.Flush()
		}
		return n, err
	}), 32<<10)
	return cw
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// serveEvents streams the journal's events (their first deliveries) as
// JSON lines, as `espfctl journal --json` does, a page of records at a
// time. Query: type=T, since=RFC3339, after=I_EVENT (the last i_event of
// the previous page), limit=N.
func (rc *Receiver) serveEvents(w http.ResponseWriter, r *http.Request) {
	q, after, err := eventQuery(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if after != nil {
		rec, err := rc.journal.Get(r.Context(), journal.First, *after)
		switch {
		case errors.Is(err, journal.ErrNotFound):
			http.Error(w, fmt.Sprintf("after %d: no such i_event in the journal", *after), http.StatusNotFound)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c := rec.Cursor()
		q.After = &c
	}
	rc.streamRecords(w, r, q)
}

// eventQuery reads /events' query: the events, oldest first, with their
// raw capture; after is the i_event to start after, or nil.
func eventQuery(r *http.Request) (q journal.Query, after *int64, err error) {
	q = journal.Query{Kinds: []journal.Kind{journal.First}, Oldest: true, Capture: true}
	v := r.URL.Query()
	q.Type = v.Get("type")
	if q.Since, err = sinceParam(v.Get("since")); err != nil {
		return q, nil, err
	}
	if s := v.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return q, nil, fmt.Errorf("after %q: want an i_event", s)
		}
		after = &n
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, nil, fmt.Errorf("limit %q: want a number of events", s)
		}
		q.Limit = n
	}
	return q, after, nil
}

func sinceParam(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("since %q: want RFC3339", s)
	}
	return t, nil
}

// serveRejections streams the rejected deliveries as JSON lines, as
// `espfctl journal --rejected --json` does, oldest first (in the order
// the journal wrote them). Query:
// since=RFC3339, limit=N (the newest N).
func (rc *Receiver) serveRejections(w http.ResponseWriter, r *http.Request) {
	q := journal.Query{Kinds: []journal.Kind{journal.Rejected}, Oldest: true, ByID: true, Capture: true}
	v := r.URL.Query()
	var err error
	if q.Since, err = sinceParam(v.Get("since")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			http.Error(w, fmt.Sprintf("limit %q: want a number of rejections", s), http.StatusBadRequest)
			return
		}
		q.Tail = n
	}
	rc.streamRecords(w, r, q)
}

// streamRecords writes the records q selects as JSON lines.
func (rc *Receiver) streamRecords(w http.ResponseWriter, r *http.Request, q journal.Query) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	cw := newChunkWriter(w)
	enc := journal.NewEncoder(cw)
	err := rc.journal.Each(r.Context(), q, enc.Encode)
	if err == nil {
		err = cw.Flush()
	}
	if err != nil {
		// The status line is gone; cutting the connection tells the
		// reader the listing is incomplete.
		panic(http.ErrAbortHandler)
	}
}
