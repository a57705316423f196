//go:build unix

package verify_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

// loadConcurrency is the number of client workers, each with its own
// keep-alive connection.
const loadConcurrency = 32

// BenchmarkDeliveries drives three receivers over real loopback with the
// same load generator (Signature-signed deliveries, unique i_events,
// loadConcurrency workers): a bare net/http handler that answers 200, the
// reference receiver with an in-memory journal, and with a file journal.
// Each b.Loop iteration is one delivery; deliveries/s is reported.
//
//	go test -run '^$' -bench BenchmarkDeliveries -benchtime 5s ./internal/verify
func BenchmarkDeliveries(b *testing.B) {
	cfg := sign.Config{Scheme: "signature", KeyIDs: []string{"pb"}, Keys: []string{"k3y"}}
	au, err := sign.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
	b.Run("bare", func(b *testing.B) { drive(b, au, bare) })
	b.Run("journal=memory", func(b *testing.B) {
		rc, err := verify.NewReceiver(verify.Config{Auth: au})
		if err != nil {
			b.Fatal(err)
		}
		defer rc.Close()
		drive(b, au, rc)
	})
	b.Run("journal=file", func(b *testing.B) {
		j, err := verify.OpenJournal(filepath.Join(b.TempDir(), "j.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer j.Close()
		rc, err := verify.NewReceiver(verify.Config{Auth: au, Journal: j})
		if err != nil {
			b.Fatal(err)
		}
		drive(b, au, rc)
	})
}

func drive(b *testing.B, au sign.Auth, h http.Handler) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadConcurrency, MaxConnsPerHost: loadConcurrency}}
	defer client.CloseIdleConnections()
	var seq atomic.Int64
	var failed atomic.Int64
	work := make(chan struct{}, loadConcurrency)
	var wg sync.WaitGroup
	for range loadConcurrency {
		wg.Go(func() {
			for range work {
				if status := deliverOne(client, au, srv.URL, seq.Add(1)); status != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	b.ReportAllocs()
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d deliveries not answered 200", n)
	}
}

func deliverOne(client *http.Client, au sign.Auth, url string, iEvent int64) int {
	payload := fmt.Sprintf(`{"event_type":"Account/Created","variables":{"i_account":%d,"i_event":%d}}`, iEvent%1000, iEvent)
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	if err := au.Sign(req.Header, []byte(payload), time.Now()); err != nil {
		return 0
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestLoadRatios measures the same three receivers as BenchmarkDeliveries
// in interleaved rounds (bare, memory, file, bare, …), so that load from
// other processes on the machine falls on all three alike, and logs
// deliveries/s and the ratios to the bare handler. It runs only when
// ESPFCTL_LOAD is set to the number of rounds:
//
//	ESPFCTL_LOAD=5 go test -run TestLoadRatios -v ./internal/verify
func TestLoadRatios(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("ESPFCTL_LOAD"))
	if rounds <= 0 {
		t.Skip("set ESPFCTL_LOAD=ROUNDS to run the load test")
	}
	const perRound = 20000
	au, err := sign.New(sign.Config{Scheme: "signature", KeyIDs: []string{"pb"}, Keys: []string{"k3y"}})
	if err != nil {
		t.Fatal(err)
	}
	mem, err := verify.NewReceiver(verify.Config{Auth: au})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	j, err := verify.OpenJournal(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	file, err := verify.NewReceiver(verify.Config{Auth: au, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"bare", "journal=memory", "journal=file"}
	handlers := []http.Handler{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}), mem, file}
	var seq atomic.Int64
	total := make([]time.Duration, len(handlers))
	cpu := make([]time.Duration, len(handlers))
	for round := range rounds {
		for i, h := range handlers {
			before := cpuTime(t)
			took, failed := load(au, h, perRound, &seq)
			if failed > 0 {
				t.Fatalf("round %d %s: %d deliveries not answered 200", round, names[i], failed)
			}
			total[i] += took
			cpu[i] += cpuTime(t) - before
		}
	}
	// The wall-clock rate depends on what else the machine runs; the
	// process's CPU time per delivery (client and server) much less.
	n := float64(rounds * perRound)
	base := n / total[0].Seconds()
	for i, name := range names {
		rate := n / total[i].Seconds()
		perCPU := cpu[i].Seconds() * 1e6 / n
		t.Logf("%-15s %8.0f deliveries/s  ratio %.2f   CPU %5.1f µs/delivery  CPU ratio %.2f",
			name, rate, rate/base, perCPU, cpu[0].Seconds()/cpu[i].Seconds())
	}
	js := j.Stats()
	t.Logf("file journal: %d deliveries in %d commits (%.1f per commit)", js.Rows, js.Commits, float64(js.Rows)/float64(js.Commits))
}

// load sends n deliveries to h over loopback with loadConcurrency workers
// and returns the wall time and the number not answered 200.
func load(au sign.Auth, h http.Handler, n int, seq *atomic.Int64) (time.Duration, int64) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadConcurrency, MaxConnsPerHost: loadConcurrency}}
	defer client.CloseIdleConnections()
	var left, failed atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	start := time.Now()
	for range loadConcurrency {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if deliverOne(client, au, srv.URL, seq.Add(1)) != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), failed.Load()
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
