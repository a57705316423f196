package main

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/testutil"
)

const copiesPassword = "c0pies-s3cret"

// postEvent delivers body to serve as the ESPF does (basic auth, a fresh
// Date) and returns serve's answer.
func postEvent(t *testing.T, au sign.Auth, addr, body string) int {
	t.Helper()
	req, err := espf.NewRequest(t.Context(), "http://"+addr+"/", []byte(body), nil, au, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// replayFromInspector replays a row to the Application as a user does from
// the inspector's page: its session token from the page, a POST.
func replayFromInspector(t *testing.T, admin, key string) {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/ui/d/" + key)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="token" value="([0-9a-f]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("GET /ui/d/%s: %d, no session token on the page", key, resp.StatusCode)
	}
	form := url.Values{"token": {string(m[1])}, "from": {key}, "mode": {"recorded"}}
	req, _ := http.NewRequest(http.MethodPost, "http://"+admin+"/ui/replay", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"status":200`)) {
		t.Fatalf("replay of %s: %d %s", key, resp.StatusCode, b)
	}
}

// TestJournalCopies: journal --copies lists what a real serve kept in its
// copies table, read while serve runs: the duplicates of an i_event with
// the delivery count at each, and the inspector's replay with its source
// and the Application's answer, newest first; --json lines with the
// journal's field names and the bytes as received; --raw with the
// credential redacted; --type, --since and --limit; hostile text escaped.
func TestJournalCopies(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(app.Close)
	db := filepath.Join(t.TempDir(), "espf.db")
	srv := startInServe(t, "--auth", "basic", "--user", "pb", "--password", copiesPassword, "--journal", db, "--forward-to", app.URL+"/espf")
	au, err := sign.New(sign.Config{Scheme: "basic", Users: []string{"pb"}, Passwords: []string{copiesPassword}})
	if err != nil {
		t.Fatal(err)
	}
	created := `{"event_type":"Subscriber/Created","variables":{"i_event":7615,"i_account":1000889,"note":"<b>&amp;</b>"}}`
	hostile := `{"event_type":"Sub\u001b[2J\nforged\u202e/x","variables":{"i_event":666,"i_account":5}}`
	for _, body := range []string{created, created, created, accountEvent(42), accountEvent(42)} {
		if st := postEvent(t, au, srv.addr, body); st != 200 {
			t.Fatalf("delivery: %d", st)
		}
	}
	for range 2 {
		if st := postEvent(t, au, srv.addr, hostile); st != 200 {
			t.Fatalf("hostile delivery: %d", st)
		}
	}
	replayFromInspector(t, srv.admin, "first/7615")

	// The table, while serve runs.
	code, out, errb := runIO(t, false, "journal", db, "--copies")
	if code != exitOK {
		t.Fatalf("journal --copies: exit %d: %s", code, errb)
	}
	assertInert(t, "journal --copies", out)
	var rows [][]string
	for line := range strings.Lines(out) {
		rows = append(rows, strings.Split(strings.TrimSuffix(line, "\n"), "\t"))
	}
	// kind, i_event, deliveries, status, auth, remote, source, app
	want := []string{"replay 7615 - 200 basic/ok inspector first/7615 200", "duplicate 666 2 200 basic/ok", "duplicate 42 2 200 basic/ok",
		"duplicate 7615 3 200 basic/ok", "duplicate 7615 2 200 basic/ok"}
	if len(rows) != len(want) {
		t.Fatalf("journal --copies: %d rows, want %d:\n%s", len(rows), len(want), out)
	}
	for i, r := range rows {
		if len(r) != 11 {
			t.Fatalf("row %d has %d columns, want 11: %q", i, len(r), r)
		}
		got := strings.Join([]string{r[1], r[2], r[4], r[5], r[6]}, " ")
		if r[1] == "replay" {
			got += " " + r[7] + " " + r[8] + " " + strings.Fields(r[9])[0]
		}
		if !strings.HasPrefix(got, want[i]) {
			t.Errorf("row %d: %s, want %s:\n%s", i, got, want[i], out)
		}
		if _, err := time.Parse(time.RFC3339Nano, r[0]); err != nil {
			t.Errorf("row %d: time %q: %v", i, r[0], err)
		}
		if r[1] == "duplicate" && !strings.HasPrefix(r[7], "127.0.0.1:") {
			t.Errorf("row %d: remote %q, want the sender's loopback address", i, r[7])
		}
	}
	if rows[1][3] != `Sub\x1b[2J\nforged\u202e/x` || !strings.Contains(rows[1][10], "unknown event type") {
		t.Errorf("the hostile type is not shown escaped, or its flag is missing: %q", rows[1])
	}
	if !regexp.MustCompile(`^200 \d+\.\dms$`).MatchString(rows[0][9]) {
		t.Errorf("the replay's APP %q, want the Application's 200 and its time", rows[0][9])
	}

	// Aligned on a terminal, with its header.
	code, out, _ = runIO(t, true, "journal", db, "--copies", "--limit", "1")
	if code != exitOK || !strings.HasPrefix(out, "TIME ") || strings.Count(out, "\n") != 2 || !strings.Contains(out, "first/7615") {
		t.Errorf("journal --copies --limit 1 on a terminal: exit %d:\n%s", code, out)
	}
	assertInert(t, "journal --copies on a terminal", out)

	// --json: one line per row, the journal's field names, kind.
	code, out, errb = runIO(t, false, "journal", db, "--copies", "--json")
	if code != exitOK || !utf8.ValidString(out) {
		t.Fatalf("journal --copies --json: exit %d: %s", code, errb)
	}
	var lines []map[string]any
	for line := range strings.Lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 5 {
		t.Fatalf("journal --copies --json: %d lines, want 5:\n%s", len(lines), out)
	}
	replay, dup := lines[0], lines[3]
	for _, k := range []string{"time", "kind", "id", "i_event", "event_type", "deliveries", "status", "auth_scheme", "auth", "remote", "body", "headers"} {
		if _, ok := dup[k]; !ok {
			t.Errorf("a duplicate's JSON line has no %q: %v", k, dup)
		}
	}
	if dup["kind"] != "duplicate" || dup["i_event"] != 7615.0 || dup["deliveries"] != 3.0 || dup["status"] != 200.0 ||
		dup["event_type"] != "Subscriber/Created" || dup["auth_scheme"] != "basic" || dup["body"] != created {
		t.Errorf("the last duplicate of 7615: %v; want its count 3 and its body byte for byte", dup)
	}
	if replay["kind"] != "replay" || replay["source"] != "first/7615" || replay["forward_status"] != 200.0 ||
		replay["remote"] != "inspector" || replay["body"] != created {
		t.Errorf("the replay: %v", replay)
	}
	if _, ok := replay["forward_ms"]; !ok {
		t.Errorf("the replay has no forward_ms: %v", replay)
	}
	if h, _ := dup["headers"].(map[string]any); h == nil || h["Authorization"].([]any)[0] != "Basic [redacted]" {
		t.Errorf("headers %v, want the credential redacted", dup["headers"])
	}
	if lines[1]["event_type"] != "Sub\u001b[2J\nforged\u202e/x" {
		t.Errorf("the JSON keeps the type as received: %v", lines[1]["event_type"])
	}
	secret := base64.StdEncoding.EncodeToString([]byte("pb:" + copiesPassword))
	if strings.Contains(out, copiesPassword) || strings.Contains(out, secret) {
		t.Error("journal --copies --json carries the credential")
	}

	// --raw: the headers, redacted, and the body.
	code, out, _ = runIO(t, false, "journal", db, "--copies", "--raw")
	if code != exitOK || !strings.Contains(out, "Authorization: Basic [redacted]") || !strings.Contains(out, created) ||
		!strings.Contains(out, "== replay of first/7615") || !strings.Contains(out, "== duplicate of i_event 7615 Subscriber/Created") {
		t.Errorf("journal --copies --raw: exit %d:\n%s", code, out)
	}
	if strings.Contains(out, copiesPassword) || strings.Contains(out, secret) {
		t.Error("journal --copies --raw carries the credential")
	}
	assertInert(t, "journal --copies --raw", out)

	// --type, --since, --limit. mid is just after the last copy of 42.
	at, err := time.Parse(time.RFC3339Nano, lines[2]["time"].(string))
	if err != nil {
		t.Fatal(err)
	}
	mid := at.Add(time.Nanosecond)
	for _, tt := range []struct {
		args []string
		want string // kind/i_event/deliveries of each row
	}{
		{[]string{"--type", "Subscriber/Created"}, "replay/7615/- duplicate/7615/3 duplicate/7615/2"},
		{[]string{"--type", "Subscriber/Created", "--limit", "2"}, "replay/7615/- duplicate/7615/3"},
		{[]string{"--since", mid.Format(time.RFC3339Nano)}, "replay/7615/- duplicate/666/2"},
		{[]string{"--since", "1h", "--limit", "3"}, "replay/7615/- duplicate/666/2 duplicate/42/2"},
		{[]string{"--type", "Account/Created", "--since", mid.Format(time.RFC3339Nano)}, ""},
	} {
		code, out, errb := runIO(t, false, append([]string{"journal", db, "--copies"}, tt.args...)...)
		var got []string
		for line := range strings.Lines(out) {
			f := strings.Split(line, "\t")
			got = append(got, f[1]+"/"+f[2]+"/"+f[4])
		}
		if code != exitOK || strings.Join(got, " ") != tt.want {
			t.Errorf("journal --copies %v: exit %d, %v; want %s (%s)", tt.args, code, got, tt.want, errb)
		}
	}

	for _, args := range [][]string{{"--copies", "--rejected"}, {"--copies", "--after", "7615"}, {"--copies", "--entities"}} {
		if code, _, errb := runIO(t, false, append([]string{"journal", db}, args...)...); code != exitUsage {
			t.Errorf("journal %v: exit %d, want 2: %s", args, code, errb)
		}
	}
}

func accountEvent(iEvent int) string {
	return fmt.Sprintf(`{"event_type":"Account/Created","variables":{"i_event":%d,"i_account":%d}}`, iEvent, iEvent+1000)
}

// TestJournalCopiesOfAnOldJournal: a journal written before serve kept
// copies has no copies table: --copies lists nothing (in every form) and
// says why on stderr, exit 0.
func TestJournalCopiesOfAnOldJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(testutil.FirstJournalSchema + `
		INSERT INTO events VALUES(7, 'Subscriber/Created', '{"i_event":7,"i_account":3}', 3, 1000, 2000, 'basic', 200, '');`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, extra := range [][]string{{}, {"--json"}, {"--raw"}, {"--type", "Subscriber/Created", "--since", "2000-01-01T00:00:00Z", "--limit", "5"}} {
		code, out, errb := runIO(t, false, append([]string{"journal", path, "--copies"}, extra...)...)
		if code != exitOK || out != "" || !strings.Contains(errb, "written before serve kept copies") {
			t.Errorf("journal --copies %v of an old journal: exit %d, stdout %q, stderr %q; want nothing listed and a note", extra, code, out, errb)
		}
	}
	// The journal's own events are still listed.
	if code, out, errb := runIO(t, false, "journal", path); code != exitOK || !strings.HasPrefix(out, "7\tSubscriber/Created\t3\t") {
		t.Errorf("journal of an old journal: exit %d, %q %s", code, out, errb)
	}
}
