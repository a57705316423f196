package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/sign"
)

// inspectorCounters is the duplicates card of the inspector's counters:
// the list page's, and the first counts event of its live stream (JSON
// holding the HTML).
func inspectorCounters(t *testing.T, admin string) (page, stream string) {
	t.Helper()
	card := regexp.MustCompile(`<span class="n">([0-9\x{2009}]+)</span><span class="l">duplicates(?: <small>[^<]*</small>)?</span>`)
	resp, err := http.Get("http://" + admin + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page = card.FindString(string(b))

	resp, err = http.Get("http://" + admin + "/ui/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	for event := ""; ; {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("the inspector's stream ended before its counters: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			event = name
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok && event == "counts" {
			var msg struct{ HTML string }
			if err := json.Unmarshal([]byte(data), &msg); err != nil {
				t.Fatalf("counts event %q: %v", data, err)
			}
			return page, card.FindString(msg.HTML)
		}
	}
}

// TestServeMaxCopies: serve --max-copies 100 and 1,000 deliveries of one
// i_event (999 repeats): the journal keeps the newest duplicate copies and
// the inspector's replay, counts every delivery, and says how many copies
// it did not keep in journal --copies (stderr), on /metrics, in the
// inspector's counters (page and live stream) and on serve's exit line;
// after a restart on the same file the count goes on. --max-copies 0 is a
// usage error.
//
// The prunes are exact (CopySlack(100) = 64): one delivery at a time,
// every copy its own commit, the 164th copy held deletes the oldest 64.
// 999 copies: 14 prunes drop 896 and keep 103 (the deliveries 898 to
// 1,000); 61 more after the restart make 164 again: 960 dropped, 100 kept.
func TestServeMaxCopies(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	t.Cleanup(app.Close)
	db := filepath.Join(t.TempDir(), "espf.db")
	args := []string{"--auth", "basic", "--user", "pb", "--password", copiesPassword, "--journal", db,
		"--forward-to", app.URL + "/espf", "--max-copies", "100"}
	au, err := sign.New(sign.Config{Scheme: "basic", Users: []string{"pb"}, Passwords: []string{copiesPassword}})
	if err != nil {
		t.Fatal(err)
	}
	deliverN := func(srv *inServe, n int) {
		t.Helper()
		for range n {
			if st := postEvent(t, au, srv.addr, accountEvent(7615)); st != 200 {
				t.Fatalf("delivery: %d", st)
			}
		}
	}
	// check reads the journal as a user does while serve runs.
	check := func(deliveries, kept, dropped, metric int, srv *inServe) {
		t.Helper()
		code, out, errb := runIO(t, false, "journal", db, "--copies", "--json")
		if code != exitOK {
			t.Fatalf("journal --copies --json: exit %d: %s", code, errb)
		}
		var lines []struct {
			Kind       string
			Deliveries int
			Source     string
		}
		for line := range strings.Lines(out) {
			var l struct {
				Kind       string
				Deliveries int
				Source     string
			}
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, l)
		}
		if len(lines) != kept+1 || lines[kept].Kind != "replay" || lines[kept].Source != "first/7615" {
			t.Fatalf("journal --copies: %d lines, want %d duplicates and the replay last (oldest)", len(lines), kept)
		}
		for i, l := range lines[:kept] {
			if l.Kind != "duplicate" || l.Deliveries != deliveries-i {
				t.Fatalf("copy %d: %+v, want the duplicate that was delivery %d (the newest kept)", i, l, deliveries-i)
			}
		}
		note := "note: " + itoa(dropped) + " older duplicate copies were not kept (serve --max-copies keeps the newest; the events' deliveries count them all)\n"
		if !strings.Contains(errb, note) {
			t.Errorf("journal --copies stderr %q, want %q", errb, note)
		}
		code, out, _ = runIO(t, false, "journal", db, "--json")
		var ev struct{ Deliveries int }
		if code != exitOK || json.Unmarshal([]byte(out), &ev) != nil || ev.Deliveries != deliveries {
			t.Errorf("journal --json: exit %d, %s; want the event's %d deliveries", code, out, deliveries)
		}
		resp, err := http.Get("http://" + srv.admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := "\nespf_copies_dropped_total " + itoa(metric) + "\n"; !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
		want := `<span class="n">` + thin(deliveries-1) + `</span><span class="l">duplicates <small>(` + thin(dropped) + ` copies not kept)</small></span>`
		if page, stream := inspectorCounters(t, srv.admin); page != want || stream != want {
			t.Errorf("the inspector's duplicates card: page %q, stream %q; want %q", page, stream, want)
		}
	}

	srv := startInServe(t, args...)
	deliverN(srv, 1)
	replayFromInspector(t, srv.admin, "first/7615")
	deliverN(srv, 999)
	check(1000, 103, 896, 896, srv)
	srv.stop()
	if want := "note: 896 duplicate copies were not kept in the journal (--max-copies 100 keeps the newest; the events' deliveries count them all)\n"; !strings.Contains(srv.err.String(), want) {
		t.Errorf("serve's exit lines %q, want %q", srv.err, want)
	}

	// Restarted on the same journal: the count is the journal's; /metrics
	// counts this process's (a Prometheus counter starts at 0).
	srv = startInServe(t, args...)
	check(1000, 103, 896, 0, srv)
	deliverN(srv, 61)
	check(1061, 100, 960, 64, srv)
	srv.stop()

	code, _, errb := runIO(t, false, "serve", "--no-auth", "--max-copies", "0")
	if code != exitUsage || !strings.Contains(errb, "--max-copies 0: want a positive number of rows") {
		t.Errorf("serve --max-copies 0: exit %d, %q; want 2 and the reason", code, errb)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// thin is n as the inspector writes it: thousands set apart by a thin space.
func thin(n int) string {
	s := itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "\u2009" + s[i:]
	}
	return s
}
