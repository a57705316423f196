package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

// TestAbuseBenchmark measures serve under the abuse of issue 10 and prints
// the figures that BENCHMARKS.md records. It runs only when asked, as it
// takes about a minute and loads the machine:
//
//	ESPFCTL_ABUSE_BENCH=1 go test -run TestAbuseBenchmark -v -timeout 10m ./cmd/espfctl
//
// Every connection goes to 127.0.0.1, bounded in count and time.
func TestAbuseBenchmark(t *testing.T) {
	if os.Getenv("ESPFCTL_ABUSE_BENCH") == "" {
		t.Skip("set ESPFCTL_ABUSE_BENCH=1 to run the abuse benchmark")
	}
	bin := espfctlBinary(t)
	t.Run("events-readers-and-stalled-uploads", func(t *testing.T) { benchReadersAndUploads(t, bin) })
	t.Run("rejected-10KB-Authorization", func(t *testing.T) { benchRejectedHeaders(t, bin, "Authorization") })
	t.Run("rejected-10KB-other-header", func(t *testing.T) { benchRejectedHeaders(t, bin, "X-Padding") })
}

var benchArgs = []string{"--auth", "basic", "--user", "pb", "--password", "s3cret"}

// rssSampler follows a process's resident memory (VmRSS) and its peak.
type rssSampler struct {
	pid  int
	max  atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := procStatus(pid, "VmRSS"); kb > s.max.Load() {
				s.max.Store(kb)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) end() (maxKB int64) {
	close(s.stop)
	<-s.done
	return s.max.Load()
}

// procStatus reads one "Name: N kB" line of /proc/PID/status.
func procStatus(pid int, name string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// prefill writes n events to a journal file as serve would have, raw
// capture included (realistic PortaBilling headers and body).
func prefill(t *testing.T, path string, n int) {
	j, err := journal.Open(journal.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 32 {
		wg.Go(func() {
			for {
				id := next.Add(1)
				if id > int64(n) {
					return
				}
				body := fmt.Sprintf(`{"event_type":"Subscriber/Created","variables":{"i_account":%d,"i_event":%d,"event_time":"2026-12-01 10:00:00"}}`, 1000000+id, id)
				e := journal.Record{Time: time.Now(), IEvent: &id, Type: "Subscriber/Created",
					Variables:  json.RawMessage(body[strings.Index(body, `{"i_account"`) : len(body)-1]),
					AuthScheme: "basic", Auth: verify.AuthOK, Status: 200, Remote: "10.0.0.5:40000", Body: []byte(body),
					Headers: journal.Headers{"Authorization": {"Basic [redacted]"}, "Content-Type": {"application/json"},
						"Date": {"Tue, 01 Dec 2026 10:00:00 GMT"}, "Te": {"trailers"}, "Content-Length": {strconv.Itoa(len(body))},
						"Host": {"app.example.com"}, "User-Agent": {"PortaBilling ESPF"}}}
				if _, err := j.Commit(e); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// benchReadersAndUploads: 20 clients that never read GET /events on a
// 30,000-event journal (ESPFCTL_ABUSE_EVENTS sets another size), plus 300 unauthenticated uploads that declare
// 1 MiB, send all but the last KB and stall.
func benchReadersAndUploads(t *testing.T, bin string) {
	dir := t.TempDir()
	db := filepath.Join(dir, "events.db")
	n := 30000
	if v, err := strconv.Atoi(os.Getenv("ESPFCTL_ABUSE_EVENTS")); err == nil && v > 0 {
		n = v // ESPFCTL_ABUSE_EVENTS=200000: the same with a larger journal
	}
	prefill(t, db, n)
	fi, _ := os.Stat(db)
	srv := startServe(t, bin, append([]string{"--journal", db}, benchArgs...)...)
	pid := srv.cmd.Process.Pid
	idle := procStatus(pid, "VmRSS")
	s := sampleRSS(pid)

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// 20 readers: send the request, never read the answer.
	for range 20 {
		c, err := net.Dial("tcp", srv.admin)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
		conns = append(conns, c)
	}
	time.Sleep(2 * time.Second) // the readers' answers fill the socket buffers and stall
	readersRSS := procStatus(pid, "VmRSS")
	// 300 unauthenticated 1 MiB uploads that stall near the end.
	var answered401, cut atomic.Int64
	var wg sync.WaitGroup
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = 'x'
	}
	for range 300 {
		wg.Go(func() {
			c, err := net.Dial("tcp", srv.addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nDate: "+
				time.Now().UTC().Format(http.TimeFormat)+"\r\nContent-Length: 1048576\r\n\r\n")
			c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			sent := 0
			for sent < 1<<20-1024 {
				n, err := c.Write(chunk[:min(len(chunk), 1<<20-1024-sent)])
				sent += n
				if err != nil {
					cut.Add(1)
					break
				}
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil && resp.StatusCode == 401 {
				answered401.Add(1)
			}
			time.Sleep(5 * time.Second) // stall: hold the connection
		})
	}
	wg.Wait()
	time.Sleep(2 * time.Second) // the readers are still connected
	rssPeak := s.end()
	hwm := procStatus(pid, "VmHWM")
	// A real delivery is still answered meanwhile.
	au, _ := sign.New(sign.Config{Scheme: "basic", Users: []string{"pb"}, Passwords: []string{"s3cret"}})
	code := benchDeliver(t, au, srv.addr, 30001)
	t.Logf("| journal | %d events, %.1f MB file |", n, float64(fi.Size())/1e6)
	t.Logf("| RSS idle (journal open) | %.1f MB |", float64(idle)/1024)
	t.Logf("| RSS with the 20 readers stalled | %.1f MB |", float64(readersRSS)/1024)
	t.Logf("| RSS peak with the uploads too, sampled every 50 ms | %.1f MB |", float64(rssPeak)/1024)
	t.Logf("| VmHWM (kernel's peak) | %.1f MB |", float64(hwm)/1024)
	t.Logf("| uploads answered 401 before their body | %d of 300 (%d saw the connection cut while still sending) |", answered401.Load(), cut.Load())
	t.Logf("| a valid delivery during the attack | %d |", code)
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	time.Sleep(2 * time.Second)
	m := fetch(t, "http://"+srv.admin+"/metrics")
	t.Logf("| after the clients closed (2 s later) | %s goroutines, heap in use %s MB, RSS %.1f MB |",
		metricValue(m, "go_goroutines"), mb(metricValue(m, "go_memstats_heap_inuse_bytes")), float64(procStatus(pid, "VmRSS"))/1024)
	if hwm > 150*1024 {
		t.Errorf("serve's peak RSS %d kB, want under 150 MB", hwm)
	}
	if code != 200 {
		t.Errorf("a valid delivery during the attack: %d", code)
	}
}

func benchDeliver(t *testing.T, au sign.Auth, addr string, id int) int {
	body := fmt.Sprintf(`{"event_type":"Subscriber/Created","variables":{"i_account":1,"i_event":%d}}`, id)
	req, err := espf.NewRequest(context.Background(), "http://"+addr+"/", []byte(body), nil, au, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := espf.NewClient(nil, nil, 0).Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// benchRejectedHeaders: 10,000 requests that fail auth, each with a 10 KB
// header (the credentials, which are redacted, or another, which is cut),
// from 16 connections, while a sender delivers valid events at 100/s: the
// journal's growth and the valid deliveries' latency.
func benchRejectedHeaders(t *testing.T, bin, header string) {
	dir := t.TempDir()
	db := filepath.Join(dir, "events.db")
	srv := startServe(t, bin, append([]string{"--journal", db}, benchArgs...)...)
	au, _ := sign.New(sign.Config{Scheme: "basic", Users: []string{"pb"}, Passwords: []string{"s3cret"}})
	// Baseline latency of valid deliveries, no flood.
	base := timedDeliveries(t, au, srv.addr, 1, 300)
	before := dbSize(db)

	stopFlood := make(chan struct{})
	var rejected, other atomic.Int64
	var wg sync.WaitGroup
	left := atomic.Int64{}
	left.Store(10000)
	huge := "Basic " + strings.Repeat("A", 10<<10)
	if header != "Authorization" {
		huge = strings.Repeat("A", 10<<10)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for range 16 {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				req, _ := http.NewRequest(http.MethodPost, "http://"+srv.addr+"/", strings.NewReader(`{"event_type":"Subscriber/Created","variables":{"i_event":1}}`))
				req.Header.Set("Authorization", "Basic cGI6bm9wZQ==")
				req.Header.Set(header, huge)
				req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
				resp, err := client.Do(req)
				if err != nil {
					other.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 401 {
					rejected.Add(1)
				} else {
					other.Add(1)
				}
			}
		})
	}
	var during []time.Duration
	done := make(chan struct{})
	go func() { during = timedDeliveries(t, au, srv.addr, 1001, 300); close(done) }()
	start := time.Now()
	wg.Wait()
	took := time.Since(start)
	<-done
	close(stopFlood)
	running := dbSize(db)
	srv.cmd.Process.Signal(os.Interrupt)
	srv.cmd.Wait()
	after := dbSize(db)
	t.Logf("| 10,000 requests, 10 KB %s each | %d answered 401, %d other, in %s (%.0f/s) |", header, rejected.Load(), other.Load(), took.Round(time.Millisecond), 10000/took.Seconds())
	t.Logf("| journal after 300 valid deliveries, before the flood (db+wal) | %.2f MB |", float64(before)/1e6)
	t.Logf("| journal at the end of the flood (db+wal) | %.2f MB (growth %.2f MB) |", float64(running)/1e6, float64(running-before)/1e6)
	t.Logf("| journal after serve stopped (db only: the WAL is checkpointed and removed) | %.2f MB, holding 600 events and the newest 1000 rejections |", float64(after)/1e6)
	t.Logf("| valid deliveries at 100/s, p50 / p99, no flood | %s / %s |", pct(base, 50), pct(base, 99))
	t.Logf("| valid deliveries at 100/s, p50 / p99, during the flood | %s / %s |", pct(during, 50), pct(during, 99))
	if running-before > 5e6 || after > 5e6 {
		t.Errorf("the journal grew by %d bytes (running), is %d bytes (stopped), want under 5 MB", running-before, after)
	}
}

// timedDeliveries sends n valid deliveries at 100/s from first on and
// returns their latencies.
func timedDeliveries(t *testing.T, au sign.Auth, addr string, first, n int) []time.Duration {
	client := espf.NewClient(nil, nil, 0)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var out []time.Duration
	for i := range n {
		<-tick.C
		body := fmt.Sprintf(`{"event_type":"Subscriber/Created","variables":{"i_account":1,"i_event":%d}}`, first+i)
		req, _ := espf.NewRequest(context.Background(), "http://"+addr+"/", []byte(body), nil, au, time.Now())
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, time.Since(start))
		if resp.StatusCode != 200 {
			t.Errorf("valid delivery: %d", resp.StatusCode)
		}
	}
	return out
}

func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100].Round(10 * time.Microsecond).String()
}

func dbSize(db string) int64 {
	var n int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(db + suffix); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// metricValue is the value of an unlabelled metric in Prometheus text.
func metricValue(text, name string) string {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	return "?"
}

func mb(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	return strconv.FormatFloat(f/(1<<20), 'f', 1, 64)
}
