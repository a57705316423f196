package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/testutil"
)

// bodyTemplates are delivery bodies as a real sender may write them — key
// order, spacing, a line break, escapes, HTML characters, a string
// i_event, extra fields, a number with a trailing zero, bytes that are not
// UTF-8 — with %d where the i_event goes.
var bodyTemplates = []string{
	`{"variables": {"i_event": %d, "i_account": 1000889}, "event_type": "Subscriber/Created"}`,
	`{"event_type":"Customer/Updated","variables":{"i_customer":"42","i_event":"%d","note":"<a&b> caf\u00e9 é"},"extra":{"x":[1,2.50]}}`,
	"{ \"event_type\" : \"SIM/Updated\" ,\n  \"variables\" : { \"i_env\" : 3 , \"i_event\" : %d } }",
	"{\"event_type\":\"Account/Updated\",\"variables\":{\"i_account\":5,\"i_event\":%d,\"raw\":\"\xff\xfe\"}}",
}

func templateBody(k int, id int64) string {
	return fmt.Sprintf(bodyTemplates[k%len(bodyTemplates)], id)
}

// bodyLine is one --events line carrying body (or body_base64 when the
// bytes are not UTF-8), as journal --json writes it.
func bodyLine(t *testing.T, body string, extra map[string]any) []byte {
	t.Helper()
	m := map[string]any{}
	for k, v := range extra {
		m[k] = v
	}
	if utf8.ValidString(body) {
		m["body"] = body
	} else {
		m["body_base64"] = base64.StdEncoding.EncodeToString([]byte(body))
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// bodyRecorder is a fresh receiver that keeps every body as it arrived,
// by i_event.
type bodyRecorder struct {
	mu     sync.Mutex
	bodies map[int64][]string
}

func newBodyRecorder(t *testing.T) (*bodyRecorder, string) {
	rec := &bodyRecorder{bodies: map[int64][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ev, err := event.Decode(b)
		if err != nil {
			w.WriteHeader(400)
			return
		}
		id, _ := ev.IEvent()
		rec.mu.Lock()
		rec.bodies[id] = append(rec.bodies[id], string(b))
		rec.mu.Unlock()
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

// serveInProcess runs espfctl serve with a file journal until stop is
// called; it returns the address.
func serveInProcess(t *testing.T, db string, args ...string) (string, func()) {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	ios, _, errb := testutil.IO()
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--ready-file", ready, "--journal", db}, args...), ios)
	}()
	addr := waitReady(t, ready, done, errb.String)
	return addr, func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("serve exit %d: %s", code, errb)
		}
	}
}

// TestReplayJournalByteForByte: events recorded by serve --journal and
// listed by journal --json, replayed with send --events into a fresh
// receiver, arrive byte for byte as first received; with --renumber only
// the i_event value differs.
func TestReplayJournalByteForByte(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 40
	want := map[int64]string{} // i_event -> the body as first sent
	var stage1 bytes.Buffer
	for k := range n {
		id := int64(7000 + k)
		want[id] = templateBody(k, id)
		stage1.Write(bodyLine(t, want[id], nil))
	}
	first := filepath.Join(dir, "first.jsonl")
	writeFile(t, first, stage1.String())
	auth := []string{"--auth", "basic", "--user", "pb", "--password", "pw"}

	// 1. The events reach serve, which journals them.
	db := filepath.Join(dir, "events.db")
	addr, stop := serveInProcess(t, db, auth...)
	ios, _, errb := testutil.IO()
	if code := run(t.Context(), append([]string{"send", "--url", "http://" + addr + "/", "--events", first, "--rate", "500/s"}, auth...), ios); code != exitOK {
		t.Fatalf("send to serve: exit %d: %s", code, errb)
	}
	stop()

	// 2. journal --json lists them.
	ios, out, errb := testutil.IO()
	if code := run(t.Context(), []string{"journal", db, "--json"}, ios); code != exitOK {
		t.Fatalf("journal --json: exit %d: %s", code, errb)
	}
	var journal bytes.Buffer
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	if len(lines) != n {
		t.Fatalf("journal lists %d events, want %d", len(lines), n)
	}
	for _, l := range lines {
		var row map[string]any
		if err := json.Unmarshal(l, &row); err != nil {
			t.Fatalf("journal line %s: %v", l, err)
		}
		if row["body"] == nil && row["body_base64"] == nil {
			t.Fatalf("journal --json line without the raw body (body or body_base64): %s", l)
		}
		journal.Write(append(l, '\n'))
	}
	journalFile := filepath.Join(dir, "journal.jsonl")
	writeFile(t, journalFile, journal.String())

	// 3. Replayed into a fresh receiver, from the file and from stdin.
	for _, tt := range []struct {
		name     string
		renumber bool
		stdin    bool
	}{{"recorded i_event", false, false}, {"--renumber, from stdin", true, true}} {
		t.Run(tt.name, func(t *testing.T) {
			rec, url := newBodyRecorder(t)
			args := []string{"send", "--url", url, "--auth", "basic", "--user", "pb", "--password", "pw", "--rate", "500/s", "--events", journalFile}
			ios, _, errb := testutil.IO()
			if tt.stdin {
				args[len(args)-1] = "-"
				ios.In = bytes.NewReader(journal.Bytes())
			}
			if tt.renumber {
				args = append(args, "--renumber", "--first-event", "500000")
			}
			if code := run(t.Context(), args, ios); code != exitOK {
				t.Fatalf("replay: exit %d: %s", code, errb)
			}
			if len(rec.bodies) != n {
				t.Errorf("%d distinct i_events arrived, want %d", len(rec.bodies), n)
			}
			// the k-th journal line gets 500000+k when renumbered
			for k, l := range lines {
				var row struct {
					IEvent int64 `json:"i_event"`
				}
				_ = json.Unmarshal(l, &row)
				id, body := row.IEvent, want[row.IEvent]
				if tt.renumber {
					id = 500000 + int64(k)
					body = templateBody(int(row.IEvent-7000), id)
				}
				got := rec.bodies[id]
				if len(got) != 1 || got[0] != body {
					t.Errorf("i_event %d arrived as %q, want once, byte for byte %q", id, got, body)
				}
			}
		})
	}
}

// TestSendEventsCheckedFirst: a bad line anywhere in --events is found
// before the first request: exit 2, file:line, nothing sent.
func TestSendEventsCheckedFirst(t *testing.T) {
	t.Parallel()
	rec, url := newBodyRecorder(t)
	file := filepath.Join(t.TempDir(), "events.jsonl")
	writeFile(t, file, `{"event_type":"Subscriber/Created","variables":{"i_account":1,"i_event":1}}
{"body":"{\"event_type\":\"Subscriber/Created\",\"variables\":{\"i_account\":2}}"}
`)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{sendArgs(url, "--events", file), file + ":2: body: missing i_event"},
		{sendArgs(url, "--events", "-"), "stdin:1: invalid event body"},
	} {
		ios, _, errb := testutil.IO()
		ios.In = strings.NewReader("{}\n")
		if code := run(t.Context(), tt.args, ios); code != exitUsage || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errb, tt.want)
		}
	}
	if len(rec.bodies) != 0 {
		t.Errorf("%d events were sent before the bad line was found", len(rec.bodies))
	}
}
