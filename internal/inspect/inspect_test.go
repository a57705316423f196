package inspect_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
)

func post(t *testing.T, r *rig, form url.Values, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.admin+"/ui/replay", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestOnlyForThisHost: the admin listener (inspector and /events alike)
// answers a request for another Host with 403 — a site that rebinds its
// name to 127.0.0.1 cannot read the journal through a browser — and the
// delivery listener has no inspector at all.
func TestOnlyForThisHost(t *testing.T) {
	r := newRig(t, rigOptions{})
	for _, path := range []string{"/ui/", "/events", "/ui/d/first/1", "/metrics"} {
		req, _ := http.NewRequest(http.MethodGet, r.admin+path, nil)
		req.Host = "espf.attacker.example:80"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s for Host %s: %d, want 403", path, req.Host, resp.StatusCode)
		}
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(r.admin, "http://"))
	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port} {
		req, _ := http.NewRequest(http.MethodGet, r.admin+"/ui/", nil)
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET /ui/ for Host %s: %d, want 200", host, resp.StatusCode)
		}
	}
	if st, _ := get(t, r.admin+"/"); st != 200 {
		t.Errorf("GET / on the admin listener: %d, want the inspector", st)
	}
	if st, _ := get(t, r.delivery+"ui/"); st != http.StatusMethodNotAllowed {
		t.Errorf("GET /ui/ on the delivery listener: %d, want 405 (every request there is a delivery)", st)
	}
}

// TestReplayRefusedCrossSite: a replay changes something (the Application
// gets a request), so only a POST from the inspector's own page does it:
// GET, a missing or wrong session token, another Origin, a cross-site
// fetch are refused, and the Application never hears of them.
func TestReplayRefusedCrossSite(t *testing.T) {
	r := newRig(t, rigOptions{})
	if st := deliver(t, r.delivery, r.auth, eventBody("Subscriber/Created", 5, 6)); st != 200 {
		t.Fatal(st)
	}
	ok := url.Values{"token": {r.ui.Token()}, "from": {"first/5"}, "mode": {"recorded"}}
	bad := url.Values{"from": {"first/5"}, "mode": {"recorded"}}
	wrong := url.Values{"token": {strings.Repeat("0", 64)}, "from": {"first/5"}}
	for _, tt := range []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no token", bad, nil},
		{"wrong token", wrong, nil},
		{"another origin", ok, map[string]string{"Origin": "http://espf.attacker.example"}},
		{"a null origin", ok, map[string]string{"Origin": "null"}},
		{"a cross-site fetch", ok, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"a same-site fetch", ok, map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"another Host", ok, map[string]string{"Host": "espf.attacker.example"}},
	} {
		if st, body := post(t, r, tt.form, tt.hdr); st != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", tt.name, st, body)
		}
	}
	if st, _ := get(t, r.admin+"/ui/replay?token="+r.ui.Token()+"&from=first/5"); st != http.StatusMethodNotAllowed {
		t.Errorf("GET /ui/replay: %d, want 405", st)
	}
	if n := len(r.app.requests()); n != 1 {
		t.Fatalf("the Application got %d requests, want only the delivery", n)
	}
	st, body := post(t, r, ok, map[string]string{"Origin": r.admin, "Sec-Fetch-Site": "same-origin"})
	if st != 200 || !strings.Contains(body, `"status":200`) {
		t.Errorf("a replay from the page: %d %s", st, body)
	}
	if n := len(r.app.requests()); n != 2 {
		t.Errorf("the Application got %d requests, want the delivery and the replay", n)
	}
}

// TestReplayEdited: an edited replay sends the edited body and headers; a
// credential still holding the journal's [redacted] is signed again, one
// the user wrote is sent as written; a Date line is sent as given. The
// journal keeps the replay as its own row with the credential redacted.
func TestReplayEdited(t *testing.T) {
	r := newRig(t, rigOptions{answer: func(b []byte) int {
		if contains(b, `"edited":true`) {
			return 409
		}
		return 200
	}})
	if st := deliver(t, r.delivery, r.auth, eventBody("Subscriber/Updated", 77, 1000889)); st != 200 {
		t.Fatal(st)
	}
	edited := `{"event_type":"Subscriber/Updated","variables":{"i_event":77,"i_account":1000889,"edited":true}}`
	form := url.Values{"token": {r.ui.Token()}, "from": {"first/77"}, "mode": {"edited"}, "body": {strings.ReplaceAll(edited, "}}", "}}\r\n")},
		"headers": {"Authorization: Basic [redacted]\r\nContent-Type: application/json\r\nX-Debug: on\r\n"}}
	st, body := post(t, r, form, nil)
	var res struct {
		ID          int64
		Status      int
		Consequence string
		Signed      bool
		Href        string
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || st != 200 {
		t.Fatalf("replay: %d %s", st, body)
	}
	got := r.app.requests()[1]
	if string(got.Body) != edited+"\n" {
		t.Errorf("the Application got %q, want the edited body (CRLF from the form as LF)", got.Body)
	}
	if err := r.auth.Verify(got.Header, nil, time.Now()); err != nil || !res.Signed {
		t.Errorf("the redacted credential was not signed again: %v", err)
	}
	if got.Header.Get("X-Debug") != "on" || res.Status != 409 || res.Consequence != "dropped" {
		t.Errorf("headers %v; answer %+v", got.Header, res)
	}
	d, err := r.rc.Journal().Get(t.Context(), journal.Replay, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Source != "first/77" || d.Status != 409 || d.Headers["Authorization"][0] != "Basic [redacted]" || string(d.Body) != edited+"\n" {
		t.Errorf("the replay's row: %+v", d)
	}

	form.Set("headers", "Authorization: Basic Zm9vOmJhcg==\nDate: Mon, 02 Jan 2006 15:04:05 GMT\nX-Debug: on")
	form.Set("body", edited)
	if st, body = post(t, r, form, nil); st != 200 {
		t.Fatalf("replay: %d %s", st, body)
	}
	got = r.app.requests()[2]
	if got.Header.Get("Authorization") != "Basic Zm9vOmJhcg==" || got.Header.Get("Date") != "Mon, 02 Jan 2006 15:04:05 GMT" {
		t.Errorf("a credential and a Date written by the user should be sent as written: %v", got.Header)
	}
	if !strings.Contains(body, `"signed":false`) {
		t.Errorf("replay: %s", body)
	}
	form.Set("headers", "X Bad: 1")
	if st, body = post(t, r, form, nil); st != 400 || !strings.Contains(body, "line 1") {
		t.Errorf("a bad header line: %d %s", st, body)
	}
}

// TestReplayNeedsWholeBodyAndForwardTo: without --forward-to there is no
// replay (409, and the page says how to get one); a rejected delivery
// whose body was kept in part cannot be replayed as recorded.
func TestReplayNeedsWholeBodyAndForwardTo(t *testing.T) {
	r := newRig(t, rigOptions{answer: func([]byte) int { return 500 }})
	big := fmt.Appendf(nil, `{"event_type":"Subscriber/Created","variables":{"i_event":9,"i_account":1,"pad":%q}}`, strings.Repeat("x", 2000))
	if st := deliver(t, r.delivery, r.auth, big); st != 500 {
		t.Fatal(st)
	}
	r.awaitRejected(t, 1)
	st, page := get(t, r.admin+"/ui/d/rejected/1")
	if st != 200 || !strings.Contains(page, "the first 1\u2009024 bytes of 2\u2009") || !strings.Contains(page, "disabled") {
		t.Errorf("the detail of a partly kept body: %d\n%s", st, page)
	}
	form := url.Values{"token": {r.ui.Token()}, "from": {"rejected/1"}, "mode": {"recorded"}}
	if st, body := post(t, r, form, nil); st != http.StatusConflict || !strings.Contains(body, "whole body") {
		t.Errorf("replay of a partly kept body: %d %s", st, body)
	}

	n := newRig(t, rigOptions{noForward: true})
	if st := deliver(t, n.delivery, n.auth, eventBody("Subscriber/Created", 1, 2)); st != 200 {
		t.Fatal(st)
	}
	_, page = get(t, n.admin+"/ui/d/first/1")
	if !strings.Contains(page, "--forward-to") || strings.Contains(page, `id="replay-recorded"`) {
		t.Errorf("without --forward-to the detail should say how to replay and offer no button")
	}
	form = url.Values{"token": {n.ui.Token()}, "from": {"first/1"}}
	if st, body := post(t, n, form, nil); st != http.StatusConflict || !strings.Contains(body, "--forward-to") {
		t.Errorf("replay without --forward-to: %d %s", st, body)
	}
}

var rowKeys = regexp.MustCompile(`data-key="([a-z]+/\d+)"`)

func listKeys(html string) []string {
	var out []string
	for _, m := range rowKeys.FindAllStringSubmatch(html, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestListFiltersAndPages: the server-rendered list pages through every
// delivery newest first with older/newer links, and filters by type,
// answer, kind and search — what a reader with JavaScript off gets.
func TestListFiltersAndPages(t *testing.T) {
	r := newRig(t, rigOptions{answer: func(b []byte) int {
		if contains(b, `"i_event":13,`) {
			return 503
		}
		return 200
	}})
	for i := int64(1); i <= 60; i++ {
		typ := "Subscriber/Created"
		if i%10 == 0 {
			typ = "Account/Blocked"
		}
		want := 200
		if i == 13 {
			want = 503
		}
		if st := deliver(t, r.delivery, r.auth, eventBody(typ, i, 2000+i)); st != want {
			t.Fatalf("delivery %d: %d", i, st)
		}
	}
	deliver(t, r.delivery, r.auth, eventBody("Subscriber/Created", 5, 2005)) // a duplicate
	deliver(t, r.delivery, wrongPassword(t), eventBody("Subscriber/Created", 99, 1))
	r.awaitRejected(t, 2)

	seen := map[string]bool{}
	next := r.admin + "/ui/?limit=25"
	pages := 0
	for next != "" {
		_, page := get(t, next)
		pages++
		for _, k := range listKeys(page) {
			if seen[k] {
				t.Errorf("%s listed twice", k)
			}
			seen[k] = true
		}
		next = ""
		if m := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(page); m != nil {
			next = r.admin + strings.ReplaceAll(m[1], "&amp;", "&")
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 62 || pages != 3 {
		t.Errorf("%d rows on %d pages, want 59 first deliveries, 1 duplicate, 2 rejected on 3 pages", len(seen), pages)
	}
	for _, tt := range []struct {
		query string
		want  string
	}{
		{"type=Account%2FBlocked", "first/60 first/50 first/40 first/30 first/20 first/10"},
		{"show=rejected", "rejected/2 rejected/1"},
		{"show=duplicate", "duplicate/1"},
		{"class=resent", "rejected/1"},
		{"class=dropped", "rejected/2"},
		{"q=13", "rejected/1"},
		{"q=2005", "duplicate/1 first/5"},
		{"q=i_account%3D2007", "first/7"},
		{"type=Account%2FBlocked&q=2007", ""},
	} {
		_, page := get(t, r.admin+"/ui/?"+tt.query)
		if got := strings.Join(listKeys(page), " "); got != tt.want {
			t.Errorf("?%s lists %q, want %q", tt.query, got, tt.want)
		}
	}
	if st, _ := get(t, r.admin+"/ui/?class=maybe"); st != 400 {
		t.Errorf("a bad filter: %d, want 400", st)
	}
}

// TestDetailPages: the raw body is served byte for byte; the detail names
// every attempt of the i_event; the send --events line reads back as the
// journal's event with the same body; the curl reproducer has no secret.
func TestDetailPages(t *testing.T) {
	calls := atomic.Int32{}
	r := newRig(t, rigOptions{answer: func([]byte) int {
		if calls.Add(1) == 1 {
			return 500
		}
		return 200
	}})
	body := eventBody("Subscriber/Created", 31, 1000889)
	deliver(t, r.delivery, r.auth, body) // 500 from the Application: re-sent
	deliver(t, r.delivery, r.auth, body) // 200
	deliver(t, r.delivery, r.auth, body) // 200, a duplicate
	r.awaitRejected(t, 1)
	if st, raw := get(t, r.admin+"/ui/d/first/31/body"); st != 200 || raw != string(body) {
		t.Errorf("raw body %d %q", st, raw)
	}
	_, page := get(t, r.admin+"/ui/d/first/31")
	if got := strings.Join(listKeys(page), " "); got != "" {
		t.Errorf("the detail page has list rows: %s", got)
	}
	for _, want := range []string{"/ui/d/rejected/1", "/ui/d/duplicate/1", "Every attempt of i_event 31", "$ESPFCTL_PASSWORD",
		"re-sent", "2 answered 200"} {
		if !strings.Contains(page, want) {
			t.Errorf("the detail lacks %q", want)
		}
	}
	if strings.Contains(page, "s3cret-pw") {
		t.Error("the detail holds the password")
	}
	if strings.Contains(page, `id="notlisted"`) {
		t.Error("every delivery is listed, yet the detail says some are not")
	}
	m := regexp.MustCompile(`(?s)<pre class="code wrap" id="sendline">(.*?)</pre>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no send --events line")
	}
	var ev journal.Record
	line := strings.NewReplacer("&#34;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&", "&#39;", "'").Replace(m[1])
	if err := json.Unmarshal([]byte(line), &ev); err != nil || string(ev.Body) != string(body) || ev.Kind != journal.First || ev.ID != 31 || ev.Deliveries != 2 {
		t.Errorf("the send --events line %s: %v %+v", line, err, ev)
	}
	// The refusal's page shows what the Application said; the delivery's
	// (a plain 200) has nothing to show.
	_, rej := get(t, r.admin+"/ui/d/rejected/1")
	if !strings.Contains(rej, "What the Application said") || !strings.Contains(rej, "app says 500") {
		t.Errorf("the refusal's detail lacks the Application's answer body:\n%s", rej)
	}
	if strings.Contains(page, "What the Application said") {
		t.Error("the delivery's detail shows an Application answer, but it answered a plain 200")
	}
	for _, path := range []string{"/ui/d/first/999", "/ui/d/nothing/1", "/ui/d/rejected/x"} {
		if st, _ := get(t, r.admin+path); st != 404 {
			t.Errorf("GET %s: %d, want 404", path, st)
		}
	}
}

// TestDetailSaysWhatIsNotKept: past --max-copies the journal no longer
// keeps the oldest copies of an event; its page lists the kept ones and
// says how many answers 200 it does not show.
func TestDetailSaysWhatIsNotKept(t *testing.T) {
	j, err := journal.Open(journal.Config{Path: filepath.Join(t.TempDir(), "espf.db"), MaxCopies: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	r := newRig(t, rigOptions{noForward: true, journal: j})
	body := eventBody("Subscriber/Created", 41, 1000889)
	const n = 200
	for range n {
		if st := deliver(t, r.delivery, r.auth, body); st != 200 {
			t.Fatalf("delivery answered %d", st)
		}
	}
	_, page := get(t, r.admin+"/ui/d/first/41")
	rows := strings.Count(page, "/ui/d/duplicate/")
	m := regexp.MustCompile(`id="notlisted">and (\d+) more deliveries answered 200, not listed`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the detail of an event answered 200 %d times, %d copies listed, does not say the rest are not kept:\n%s", n, rows, page)
	}
	if rows == 0 || rows > 10+64 {
		t.Errorf("%d copies listed, want the ones kept (at most --max-copies 10 + 64)", rows)
	}
	if got, want := m[1], strconv.Itoa(n-1-rows); got != want {
		t.Errorf("the detail says %s not listed, want %s (%d answered 200, the first and %d copies listed)", got, want, n, rows)
	}
}

// TestHostileTextIsInert: whatever a sender puts in a type, a header or a
// body reaches the page as text: no markup of its own, control characters
// shown as escapes, as in the terminal.
func TestHostileTextIsInert(t *testing.T) {
	r := newRig(t, rigOptions{noForward: true})
	body := []byte(`{"event_type":"X/<img src=x onerror=alert(1)>","variables":{"i_event":66,"i_account":"<script>alert(2)</script>","c":"\u001b[31mred"}}`)
	req, _ := http.NewRequest(http.MethodPost, r.delivery, strings.NewReader(string(body)))
	if err := r.auth.Sign(req.Header, body, time.Now()); err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Evil", "</td><script>alert(3)</script>")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, path := range []string{"/ui/", "/ui/d/first/66"} {
		_, page := get(t, r.admin+path)
		for _, bad := range []string{"<img src=x", "<script>alert", "\x1b"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s holds %q raw", path, bad)
			}
		}
		if !strings.Contains(page, "&lt;script&gt;alert(2)") {
			t.Errorf("%s does not show the entity as text", path)
		}
	}
}

// sse reads server-sent events from the inspector's stream.
type sse struct {
	resp *http.Response
	rd   *bufio.Reader
}

func openStream(t *testing.T, url string) *sse {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &sse{resp: resp, rd: bufio.NewReader(resp.Body)}
}

// next returns the next event's name and data.
func (s *sse) next(t *testing.T) (string, string) {
	t.Helper()
	var name, data string
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		}
	}
}

// TestStreamFollowsTheFilter: a live list filtered to rejected rows gets
// the rejected delivery, not the good one before it, and the counters.
func TestStreamFollowsTheFilter(t *testing.T) {
	r := newRig(t, rigOptions{tick: 10 * time.Millisecond})
	s := openStream(t, r.admin+"/ui/stream?show=rejected")
	if name, data := s.next(t); name != "counts" || !strings.Contains(data, "delivered") {
		t.Fatalf("first event %s %s, want the counters", name, data)
	}
	deliver(t, r.delivery, r.auth, eventBody("Subscriber/Created", 1, 1))
	deliver(t, r.delivery, wrongPassword(t), eventBody("Subscriber/Created", 2, 1))
	for {
		name, data := s.next(t)
		if name != "rows" {
			continue
		}
		var msg struct {
			HTML string
			N    int
		}
		if err := json.Unmarshal([]byte(data), &msg); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(listKeys(msg.HTML), " "); got != "rejected/1" || msg.N != 1 {
			t.Errorf("the filtered stream sent %q", got)
		}
		return
	}
}

// TestSlowBrowserDropped: a live list that never reads its stream is
// dropped once its buffer is full, and every delivery meanwhile is
// answered 200 as if it were not there.
func TestSlowBrowserDropped(t *testing.T) {
	r := newRig(t, rigOptions{noForward: true, tick: time.Millisecond})
	r.ui.SetStreamBuffer(2)
	host := strings.TrimPrefix(r.admin, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /ui/stream HTTP/1.1\r\nHost: %s\r\n\r\n", host)
	// Never read: the socket buffers fill, serve's writes block, the
	// stream's buffer of commits fills, and the stream is dropped.
	var failed atomic.Int64
	var sent atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				if _, dropped := r.ui.Streams(); dropped > 0 {
					return
				}
				n := sent.Add(1)
				if n > 50000 {
					return
				}
				if deliver(t, r.delivery, r.auth, eventBody("Subscriber/Created", n, n)) != 200 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("dropped after %d deliveries", sent.Load())
	if _, dropped := r.ui.Streams(); dropped != 1 {
		t.Errorf("after %d deliveries the stream that is never read was not dropped", sent.Load())
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d deliveries not answered 200 while a browser was stuck", n)
	}
}
