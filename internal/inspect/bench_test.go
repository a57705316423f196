//go:build unix

package inspect_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/inspect"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/testutil"
	_ "modernc.org/sqlite"
)

// load sends n deliveries of new i_events to url from 32 workers over
// keep-alive connections and returns the wall time and how many were not
// answered 200.
func load(tb testing.TB, r *rig, n int, seq *atomic.Int64) (time.Duration, int64) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	var failed atomic.Int64
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for range 32 {
		wg.Go(func() {
			for range jobs {
				id := seq.Add(1)
				body := eventBody("Subscriber/Created", id, 1000000+id%5000)
				req, err := espf.NewRequest(context.Background(), r.delivery, body, nil, r.auth, time.Now())
				if err != nil {
					failed.Add(1)
					continue
				}
				resp, err := c.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		})
	}
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	return time.Since(start), failed.Load()
}

func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sseReader reads a live list like a browser's EventSource would, and
// counts the rows it was sent.
type sseReader struct {
	rows, skipped atomic.Int64
	dropped       atomic.Bool
	cancel        func()
	done          chan struct{}
}

var nRe = regexp.MustCompile(`"n":(\d+),"skipped":(\d+)`)

func readStream(tb testing.TB, url string) *sseReader {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sseReader{cancel: cancel, done: make(chan struct{})}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		for sc.Scan() {
			line := sc.Text()
			if line == "event: dropped" {
				s.dropped.Store(true)
			}
			if m := nRe.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				k, _ := strconv.Atoi(m[2])
				s.rows.Add(int64(n))
				s.skipped.Add(int64(k))
			}
		}
	}()
	return s
}

func (s *sseReader) stop() { s.cancel(); <-s.done }

// stalled opens a live list and never reads it.
func stalled(tb testing.TB, admin string) net.Conn {
	host := strings.TrimPrefix(admin, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		tb.Fatal(err)
	}
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /ui/stream HTTP/1.1\r\nHost: %s\r\n\r\n", host)
	return conn
}

// chromiumProcess is a headless Chromium as a user has it: no DevTools
// client attached (chromedp would enable the DOM and Network domains and
// receive an event per DOM change and per server-sent event). Tabs are
// opened and closed through its HTTP endpoint only.
type chromiumProcess struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT of its DevTools HTTP endpoint
}

func startChromium(tb testing.TB, exe string) *chromiumProcess {
	dir := tb.TempDir()
	cmd := testutil.Command(tb, exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0",
		"--user-data-dir="+dir, "about:blank")
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	for { // only the test's -timeout bounds the wait
		b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort"))
		if port, _, ok := strings.Cut(string(b), "\n"); err == nil && ok {
			return &chromiumProcess{cmd: cmd, base: "http://127.0.0.1:" + port}
		}
		time.Sleep(10 * time.Millisecond) // polls another process's file; not a timing assertion
	}
}

// open opens url in a new tab and returns a func that closes it.
func (c *chromiumProcess) open(tb testing.TB, url string) func() {
	req, _ := http.NewRequest(http.MethodPut, c.base+"/json/new?"+url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := regexp.MustCompile(`"id": *"([^"]+)"`).FindStringSubmatch(string(b))
	if id == nil {
		tb.Fatalf("open a tab: %s", b)
	}
	return func() {
		if resp, err := http.Get(c.base + "/json/close/" + id[1]); err == nil {
			resp.Body.Close()
		}
	}
}

// TestLiveListThroughput measures serve's delivery throughput (file
// journal, basic auth, 32 workers over loopback) with nobody watching, with
// a live list read by an SSE client, with a live list that is never read,
// and with the inspector open in a tab of headless Chromium (the same
// browser is open on a blank page in the other variants), in interleaved
// rounds so that the machine's other load falls on all alike. It runs when
// ESPFCTL_INSPECT_BENCH is the number of rounds:
//
//	ESPFCTL_INSPECT_BENCH=7 ESPFCTL_INSPECT_BENCH_N=30000 go test -count=1 -run TestLiveListThroughput -v -timeout 25m ./internal/inspect
func TestLiveListThroughput(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("ESPFCTL_INSPECT_BENCH"))
	if rounds <= 0 {
		t.Skip("set ESPFCTL_INSPECT_BENCH=ROUNDS to measure the throughput with a live list open")
	}
	per, _ := strconv.Atoi(os.Getenv("ESPFCTL_INSPECT_BENCH_N"))
	if per <= 0 {
		per = 20000
	}
	r := newRig(t, rigOptions{noForward: true, bench: true})
	type variant struct {
		name  string
		start func() func() string
	}
	variants := []variant{
		{"nobody watching", func() func() string { return func() string { return "" } }},
		{"SSE client reading", func() func() string {
			s := readStream(t, r.admin+"/ui/stream")
			return func() string {
				s.stop()
				return fmt.Sprintf("rows sent %d, skipped (more than %d a tick) %d, dropped %v", s.rows.Load(), journal.DefaultLimit, s.skipped.Load(), s.dropped.Load())
			}
		}},
		{"SSE client never reading", func() func() string {
			_, before := r.ui.Streams()
			c := stalled(t, r.admin)
			return func() string {
				_, after := r.ui.Streams()
				c.Close()
				return fmt.Sprintf("dropped: %v", after > before)
			}
		}},
	}
	if exe, err := execLookChromium(); err == nil {
		browser := startChromium(t, "/usr/bin/"+exe)
		variants = append(variants, variant{"Chromium on the live list", func() func() string {
			closeTab := browser.open(t, r.admin+"/ui/")
			for { // only the test's -timeout bounds the wait
				if open, _ := r.ui.Streams(); open > 0 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			return func() string {
				closeTab()
				for { // the stream ends with the tab
					if open, _ := r.ui.Streams(); open == 0 {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				return "a tab of a headless Chromium showing /ui/"
			}
		}})
	}
	var seq atomic.Int64
	total := make([]time.Duration, len(variants))
	cpu := make([]time.Duration, len(variants))
	bcpu := make([]time.Duration, len(variants))
	ratios := make([][]float64, len(variants)) // each round's rate over that round's "nobody watching"
	notes := make([]string, len(variants))
	// A round not counted first: Chromium's start-up, the journal's first
	// pages, the connections.
	var took0 time.Duration
	for round := -1; round < rounds; round++ {
		for i, v := range variants {
			stop := v.start()
			before, bbefore := cpuTime(t), browserCPU()
			took, failed := load(t, r, per, &seq)
			if i == 0 {
				took0 = took
			}
			if round >= 0 {
				cpu[i] += cpuTime(t) - before
				bcpu[i] += browserSpent(bbefore, browserCPU())
				total[i] += took
				ratios[i] = append(ratios[i], float64(took0)/float64(took))
			}
			notes[i] = stop()
			if failed > 0 {
				t.Fatalf("round %d, %s: %d deliveries not answered 200", round, v.name, failed)
			}
		}
	}
	n := float64(rounds * per)
	base := n / total[0].Seconds()
	baseCPU := (cpu[0] + bcpu[0]).Seconds()
	for i, v := range variants {
		rate := n / total[i].Seconds()
		rs := slices.Sorted(slices.Values(ratios[i]))
		t.Logf("%-26s %6.0f deliveries/s  ratio %.3f (rounds: median %.3f, %.3f–%.3f)  CPU µs/delivery: serve+load %5.1f, Chromium %4.1f (CPU ratio %.3f)  %s",
			v.name, rate, rate/base, rs[len(rs)/2], rs[0], rs[len(rs)-1], cpu[i].Seconds()*1e6/n, bcpu[i].Seconds()*1e6/n,
			baseCPU/(cpu[i]+bcpu[i]).Seconds(), notes[i])
	}
}

// browserCPU is the CPU time of each Chromium process running now, by
// pid (from /proc).
func browserCPU() map[int]time.Duration {
	out := map[int]time.Duration{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		if comm := s[open+1 : end]; !strings.Contains(comm, "chrom") && !strings.Contains(comm, "headless") {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) > 13 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			k, _ := strconv.ParseInt(f[12], 10, 64)
			out[pid] = time.Duration(u+k) * (time.Second / 100) // USER_HZ
		}
	}
	return out
}

// browserSpent is the CPU the Chromium processes used between two
// readings (a process that ended meanwhile is not counted).
func browserSpent(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

func execLookChromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if _, err := os.Stat("/usr/bin/" + name); err == nil {
			return name, nil
		}
	}
	return "", os.ErrNotExist
}

// millionTypes are the event types of the large journal, most frequent
// first: the last is rare (one in 4,000).
var millionTypes = []string{"Subscriber/Created", "Subscriber/Updated", "Account/BalanceChanged", "Account/Blocked",
	"Account/Unblocked", "Customer/Created", "Customer/Updated", "Account/Product", "Account/Status", "Customer/Blocked",
	"Account/ExpirationDate", "DID/Assigned"}

func millionType(rng *rand.Rand) string {
	x := rng.IntN(4000)
	switch {
	case x == 0:
		return millionTypes[len(millionTypes)-1]
	case x < 1600:
		return millionTypes[0]
	case x < 2600:
		return millionTypes[1]
	}
	return millionTypes[2+x%(len(millionTypes)-3)]
}

// bulkJournal writes n events (1 % of them delivered twice, with their
// copy), 1,000 rejections and a realistic raw capture each straight into a
// journal file in a few transactions: the database serve would have after
// n deliveries, without sending them.
func bulkJournal(tb testing.TB, path string, n int) {
	j, err := journal.Open(journal.Config{Path: path}) // the schema and its indexes
	if err != nil {
		tb.Fatal(err)
	}
	j.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	const headers = `{"Authorization":["Basic [redacted]"],"Content-Length":["%d"],"Content-Type":["application/json"],"Date":["Sun, 01 Nov 2026 10:00:00 GMT"],"Host":["espf.example:8443"],"Te":["trailers"],"User-Agent":["PortaBilling ESPF"]}`
	var tx *sql.Tx
	var ev, cp *sql.Stmt
	begin := func() {
		if tx, err = db.Begin(); err != nil {
			tb.Fatal(err)
		}
		ev, _ = tx.Prepare(`INSERT INTO events(i_event, event_type, variables, deliveries, first_delivery, last_delivery, auth_scheme, status, flags,
			body, headers, remote, forward_status, forward_ms, entity) VALUES(?, ?, ?, ?, ?, ?, 'basic', 200, '', ?, ?, '10.0.0.7:41234', 200, 1.5, ?)`)
		cp, _ = tx.Prepare(`INSERT INTO copies(kind, at, i_event, event_type, entity, deliveries, auth_scheme, auth, status, body, headers, remote, forward_status, forward_ms)
			VALUES('duplicate', ?, ?, ?, ?, 2, 'basic', 'ok', 200, ?, ?, '10.0.0.7:41234', 200, 1.2)`)
	}
	commit := func() {
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
	begin()
	for i := 1; i <= n; i++ {
		typ, acct := millionType(rng), 1000000+rng.IntN(200000)
		vars := fmt.Sprintf(`{"i_event":%d,"i_account":%d,"i_customer":%d,"i_env":1,"event_time":"2026-11-01 10:00:00"}`, i, acct, acct/10)
		body := fmt.Sprintf(`{"event_type":%q,"variables":%s}`, typ, vars)
		at := t0 + int64(i)*int64(2*time.Second)
		dup := i%100 == 0
		deliveries := 1
		if dup {
			deliveries = 2
		}
		ent := "i_account=" + strconv.Itoa(acct)
		if _, err := ev.Exec(i, typ, vars, deliveries, at, at+int64(time.Minute), body, fmt.Sprintf(headers, len(body)), ent); err != nil {
			tb.Fatal(err)
		}
		if dup {
			if _, err := cp.Exec(at+int64(time.Minute), i, typ, ent, body, fmt.Sprintf(headers, len(body))); err != nil {
				tb.Fatal(err)
			}
		}
		if i%100000 == 0 {
			commit()
			begin()
		}
	}
	for i := range 1000 {
		at := t0 + int64(rng.IntN(n))*int64(2*time.Second)
		status, reason := 401, "mismatch: wrong password for user \"pb\""
		if i%3 == 0 {
			status, reason = 500, "the Application answered 500 in 2.1ms"
		}
		if _, err := tx.Exec(`INSERT INTO rejections(at, event_type, status, auth_scheme, auth, reason, remote, body_size, headers)
			VALUES(?, '', ?, 'basic', 'failed', ?, '10.0.0.9:5555', 180, '{"Authorization":["Basic [redacted]"]}')`, at, status, reason); err != nil {
			tb.Fatal(err)
		}
	}
	commit()
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		tb.Fatal(err)
	}
}

// timed serves path from the inspector in-process, times times, and
// returns the median, the 95th percentile and the maximum, after checking
// the answer is a page.
func timed(tb testing.TB, h http.Handler, path string, times int) (p50, p95, worst time.Duration, size int) {
	var ds []time.Duration
	for range times {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+path, nil)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		ds = append(ds, time.Since(start))
		if rec.Code != 200 {
			tb.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
		}
		size = rec.Body.Len()
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)*95/100], ds[len(ds)-1], size
}

// TestMillionRowJournal measures the inspector's pages at the server on a
// journal of ESPFCTL_INSPECT_MILLION events (say 1000000) beside the same
// pages on a 100-event journal: the first render, searches by i_event and
// by entity, filters, a page deep into the journal, a detail. The journal
// is written by bulkJournal once and kept at ESPFCTL_INSPECT_DB when set:
//
//	ESPFCTL_INSPECT_MILLION=1000000 ESPFCTL_INSPECT_DB=/tmp/million.db go test -count=1 -run TestMillionRowJournal -v -timeout 30m ./internal/inspect
func TestMillionRowJournal(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ESPFCTL_INSPECT_MILLION"))
	if n <= 0 {
		t.Skip("set ESPFCTL_INSPECT_MILLION=EVENTS to measure the inspector on a large journal")
	}
	for _, size := range []int{100, n} {
		path := filepath.Join(t.TempDir(), "small.db")
		if size == n && os.Getenv("ESPFCTL_INSPECT_DB") != "" {
			path = os.Getenv("ESPFCTL_INSPECT_DB")
		}
		if _, err := os.Stat(path); err != nil {
			start := time.Now()
			bulkJournal(t, path, size)
			st, _ := os.Stat(path)
			t.Logf("%d events: journal written in %s, %.1f MB", size, time.Since(start).Round(time.Millisecond), float64(st.Size())/1e6)
		}
		start := time.Now()
		j, err := journal.Open(journal.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		opened := time.Since(start)
		t.Cleanup(func() { j.Close() })
		r := newRig(t, rigOptions{noForward: true, bench: true, journal: j})
		h := inspect.Mount(r.ui, r.rc.Admin())
		c, _ := j.Counts(context.Background())
		t.Logf("%d events: journal opened (and counted) in %s: %d events, %d duplicates, %d rejected", size, opened.Round(time.Millisecond),
			c.Events, c.Duplicates, c.Rejected)
		mid := size / 2
		_, first := get(t, r.admin+"/ui/?limit=50")
		older := regexp.MustCompile(`href="/ui/\?([^"]+)" rel="next"`).FindStringSubmatch(first)
		deep := journal.Cursor{At: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano() + int64(mid)*int64(2*time.Second), Rank: 1, ID: int64(mid)}
		acct := regexp.MustCompile(`i_account=(\d+)`).FindStringSubmatch(first)
		rare := millionTypes[len(millionTypes)-1]
		pages := []struct{ name, path string }{
			{"first render", "/ui/"},
			{"search an i_event", "/ui/?q=" + strconv.Itoa(mid)},
			{"search an entity id", "/ui/?q=" + acct[1]},
			{"search an entity (key=value)", "/ui/?q=i_account%3D" + acct[1]},
			{"search that finds nothing", "/ui/?q=999999999"},
			{"type filter, common type", "/ui/?type=Subscriber%2FCreated"},
			{"type filter, rare type", "/ui/?type=" + strings.ReplaceAll(rare, "/", "%2F")},
			{"rejected only", "/ui/?show=rejected"},
			{"duplicates only", "/ui/?show=duplicate"},
			{"answer re-sent", "/ui/?class=resent"},
			{"the next page", "/ui/?" + strings.ReplaceAll(older[1], "&amp;", "&")},
			{"a page in the middle", "/ui/?before=" + deep.String()},
			{"detail of an event", "/ui/d/first/" + strconv.Itoa(mid)},
			{"rows fragment (catch-up)", "/ui/rows"},
		}
		for _, p := range pages {
			p50, p95, worst, bytes := timed(t, h, p.path, 40)
			t.Logf("%8d events  %-30s p50 %7s  p95 %7s  max %7s  (%d bytes)", size, p.name, p50.Round(10*time.Microsecond),
				p95.Round(10*time.Microsecond), worst.Round(10*time.Microsecond), bytes)
		}
	}
}
