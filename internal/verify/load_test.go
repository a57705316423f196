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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/espfctl/espfctl/internal/verify"
)

// loadConcurrency is the number of client workers, each with its own
// keep-alive connection.
const loadConcurrency = 32

// target is one receiver under load.
type target struct {
	name string
	h    http.Handler
}

// loadTargets builds the three receivers that the load generator compares:
// (c) a bare net/http handler that answers 200, (a) the reference receiver
// with an in-memory journal, (b) with a file journal (returned for its
// commit stats). All of them verify nothing but what the receiver does.
func loadTargets(tb testing.TB, au sign.Auth) ([]target, *journal.Journal) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
	mem, err := verify.NewReceiver(verify.Config{Auth: au})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { mem.Close() })
	j, err := journal.Open(journal.Config{Path: filepath.Join(tb.TempDir(), "j.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { j.Close() })
	file, err := verify.NewReceiver(verify.Config{Auth: au, Journal: j})
	if err != nil {
		tb.Fatal(err)
	}
	return []target{{"bare", bare}, {"journal=memory", mem}, {"journal=file", file}}, j
}

func loadAuth(tb testing.TB) sign.Auth {
	au, err := sign.New(sign.Config{Scheme: "signature", KeyIDs: []string{"pb"}, Keys: []string{"k3y"}})
	if err != nil {
		tb.Fatal(err)
	}
	return au
}

// BenchmarkDeliveries drives the three load targets over real loopback
// with the same load generator: Signature-signed deliveries of new
// i_events from loadConcurrency workers. Each b.Loop iteration is one
// delivery; deliveries/s is reported.
//
//	go test -run '^$' -bench BenchmarkDeliveries -benchtime 20000x ./internal/verify
func BenchmarkDeliveries(b *testing.B) {
	var seq atomic.Int64
	benchLoad(b, func() int64 { return seq.Add(1) })
}

// BenchmarkRepeats is BenchmarkDeliveries with one i_event delivered over
// and over, as a load tool replaying one pre-signed request makes it: every
// delivery after the first is a repeat (a conflict, a count, a copy kept).
//
//	go test -run '^$' -bench BenchmarkRepeats -benchtime 20000x ./internal/verify
func BenchmarkRepeats(b *testing.B) {
	benchLoad(b, func() int64 { return 7615 })
}

// benchLoad runs one sub-benchmark per load target, each b.Loop iteration
// one delivery of the i_event that next gives.
func benchLoad(b *testing.B, next func() int64) {
	au := loadAuth(b)
	targets, _ := loadTargets(b, au)
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			srv := httptest.NewServer(tg.h)
			defer srv.Close()
			client := loadClient()
			defer client.CloseIdleConnections()
			var failed atomic.Int64
			jobs, wait := testutil.Workers(loadConcurrency, func() {
				if deliverOne(client, au, srv.URL, next()) != http.StatusOK {
					failed.Add(1)
				}
			})
			b.ReportAllocs()
			for b.Loop() {
				jobs <- struct{}{}
			}
			wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d deliveries not answered 200", n)
			}
		})
	}
}

func loadClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadConcurrency, MaxConnsPerHost: loadConcurrency}}
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

// TestLoadRatios measures the same three targets as BenchmarkDeliveries in
// interleaved rounds (bare, memory, file, bare, …), so that load from other
// processes on the machine falls on all three alike, and logs deliveries/s,
// CPU time per delivery and the ratios to the bare handler. It runs only
// when ESPFCTL_LOAD is set to the number of rounds:
//
//	ESPFCTL_LOAD=6 go test -count=1 -run TestLoadRatios -v ./internal/verify
//
// ESPFCTL_LOAD_CUTS=1 adds two in-memory receivers cut short, which answer
// 200 without journaling: after every check and the decoding ("checks"),
// and after the header checks and the body read ("body"); what separates
// them from the whole receiver is the journal's cost, and from each other
// the decoding's.
func TestLoadRatios(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("ESPFCTL_LOAD"))
	if rounds <= 0 {
		t.Skip("set ESPFCTL_LOAD=ROUNDS to run the load test")
	}
	const perRound = 20000
	au := loadAuth(t)
	targets, j := loadTargets(t, au)
	if os.Getenv("ESPFCTL_LOAD_CUTS") != "" {
		for _, after := range []string{"checks", "body"} {
			rc, err := verify.NewReceiver(verify.Config{Auth: au})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rc.Close() })
			verify.CutShort(rc, after)
			targets = append(targets, target{"cut after " + after, rc})
		}
	}
	var seq atomic.Int64
	total := make([]time.Duration, len(targets))
	cpu := make([]time.Duration, len(targets))
	for round := range rounds {
		for i, tg := range targets {
			before := cpuTime(t)
			took, failed := load(au, tg.h, perRound, &seq)
			if failed > 0 {
				t.Fatalf("round %d %s: %d deliveries not answered 200", round, tg.name, failed)
			}
			total[i] += took
			cpu[i] += cpuTime(t) - before
		}
	}
	// The wall-clock rate depends on what else the machine runs; the
	// process's CPU time per delivery (client and server) much less.
	n := float64(rounds * perRound)
	base := n / total[0].Seconds()
	for i, tg := range targets {
		rate := n / total[i].Seconds()
		t.Logf("%-18s %8.0f deliveries/s  ratio %.2f   CPU %5.1f µs/delivery  CPU ratio %.2f",
			tg.name, rate, rate/base, cpu[i].Seconds()*1e6/n, cpu[0].Seconds()/cpu[i].Seconds())
	}
	js := j.Stats()
	t.Logf("file journal: %d deliveries in %d commits (%.1f per commit)", js.Rows, js.Commits, float64(js.Rows)/float64(js.Commits))
}

// load sends n deliveries to h over loopback with loadConcurrency workers
// and returns the wall time and the number not answered 200.
func load(au sign.Auth, h http.Handler, n int, seq *atomic.Int64) (time.Duration, int64) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := loadClient()
	defer client.CloseIdleConnections()
	var failed atomic.Int64
	start := time.Now()
	jobs, wait := testutil.Workers(loadConcurrency, func() {
		if deliverOne(client, au, srv.URL, seq.Add(1)) != http.StatusOK {
			failed.Add(1)
		}
	})
	for range n {
		jobs <- struct{}{}
	}
	wait()
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

// TestCutShortVariants: the load test's cut-short receivers still make the
// checks before their cut (a bad signature is refused; a body that is not
// an event too, when the cut is after the decoding) and answer 200 without
// journaling.
func TestCutShortVariants(t *testing.T) {
	au := loadAuth(t)
	client := loadClient()
	const notAnEvent = `{"event_type":"Account/Created"}` // no variables
	badSignature := func(h http.Header) { h.Set("Authorization", "Signature nope") }
	for after, wantNotAnEvent := range map[string]int{"checks": http.StatusBadRequest, "body": http.StatusOK} {
		rc, err := verify.NewReceiver(verify.Config{Auth: au})
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		verify.CutShort(rc, after)
		srv := httptest.NewServer(rc)
		defer srv.Close()
		if c := deliverOne(client, au, srv.URL, 7); c != http.StatusOK {
			t.Errorf("cut after %s: a signed event answered %d, want 200", after, c)
		}
		if c := post(t, srv.URL, nil, time.Now(), notAnEvent, badSignature); c != http.StatusUnauthorized {
			t.Errorf("cut after %s: a bad signature answered %d, want 401", after, c)
		}
		if c := post(t, srv.URL, au, time.Now(), notAnEvent, nil); c != wantNotAnEvent {
			t.Errorf("cut after %s: a signed body without variables answered %d, want %d", after, c, wantNotAnEvent)
		}
		if evs := events(t, rc.Journal()); len(evs) != 0 {
			t.Errorf("cut after %s: journal holds %d events, want none", after, len(evs))
		}
	}
}
