package verify_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

// copyRows lists the journal's duplicate copies (newest first) and its
// replays.
func copyRows(t *testing.T, j *journal.Journal) (dups, replays []journal.Record) {
	t.Helper()
	for _, r := range list(t, j, journal.Query{Kinds: []journal.Kind{journal.Duplicate, journal.Replay}}) {
		if r.Kind == journal.Replay {
			replays = append(replays, r)
		} else {
			dups = append(dups, r)
		}
	}
	return dups, replays
}

// checkCopies asserts that the journal keeps exactly the newest kept
// duplicates of an i_event delivered `deliveries` times, and has dropped
// the others.
func checkCopies(t *testing.T, j *journal.Journal, deliveries, kept, dropped int64) {
	t.Helper()
	dups, replays := copyRows(t, j)
	if int64(len(dups)) != kept || len(replays) != 1 {
		t.Fatalf("%d duplicate copies and %d replays kept; want %d and the replay", len(dups), len(replays), kept)
	}
	for i, r := range dups {
		if want := deliveries - int64(i); r.Deliveries != want {
			t.Fatalf("copy %d is the delivery number %d, want %d: the newest are kept, in order", i, r.Deliveries, want)
		}
	}
	if n, err := j.CopiesDropped(t.Context()); err != nil || n != dropped {
		t.Errorf("copies dropped: %d (%v), want %d", n, err, dropped)
	}
	ev, err := j.Get(t.Context(), journal.First, 7615)
	if err != nil || ev.Deliveries != deliveries {
		t.Errorf("the event: %+v (%v); want its %d deliveries counted, kept or not", ev, err, deliveries)
	}
	if c, _ := j.Counts(t.Context()); c.Duplicates != deliveries-1 || c.Replays != 1 || c.ByAnswer[200] != deliveries {
		t.Errorf("counts %+v: want %d duplicates answered 200 and the replay", c, deliveries-1)
	}
}

// repeat delivers one i_event n times, one after another (each copy its
// own commit, so where the prunes fall is exact).
func repeat(t *testing.T, au sign.Auth, url string, n int) {
	t.Helper()
	for range n {
		if code := post(t, url, au, time.Now(), body(7615), nil); code != 200 {
			t.Fatalf("delivery: %d, want 200", code)
		}
	}
}

// TestCopiesBounded: with MaxCopies 100, 1,000 deliveries of one i_event
// over loopback (999 duplicates) keep the newest duplicate copies and
// count the others as dropped, in the journal and on /metrics; the event
// counts all 1,000 deliveries and the inspector's replay is kept. The
// count survives a reopen, goes on from there, and a journal reopened with
// a smaller bound is cut to it at once.
//
// The prunes are exact (CopySlack(100) = 64): the oldest copies are
// deleted back down to 100 when a commit makes them 164. Of 999 copies,
// each one in its own commit: 14 prunes of 64 (at copies 164, 228, …,
// 996) drop 896 and keep 103, the deliveries 898 to 1000.
func TestCopiesBounded(t *testing.T) {
	if journal.CopySlack(100) != 64 || journal.CopySlack(10000) != 625 {
		t.Fatalf("CopySlack(100) = %d, CopySlack(10000) = %d; want 64 and 625", journal.CopySlack(100), journal.CopySlack(10000))
	}
	path := filepath.Join(t.TempDir(), "espf.db")
	au := mustAuth(t, sign.Config{Scheme: "basic", Users: []string{"pb"}, Passwords: []string{"pw"}})
	open := func(n int) *journal.Journal {
		t.Helper()
		j, err := journal.Open(journal.Config{Path: path, MaxCopies: n})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	j := open(100)
	rc, srv := startReceiver(t, verify.Config{Auth: au, Journal: j})
	admin := httptest.NewServer(rc.Admin())
	defer admin.Close()
	repeat(t, au, srv.URL, 1)
	id, ok := int64(7615), 200
	if _, err := j.CommitReplay(journal.Record{Time: time.Now(), IEvent: &id, Type: "Subscriber/Created",
		Status: 200, Auth: "ok", Forwarded: true, ForwardStatus: &ok, Source: "first/7615", Body: []byte(body(7615))}); err != nil {
		t.Fatal(err)
	}
	repeat(t, au, srv.URL, 999)
	checkCopies(t, j, 1000, 103, 896)
	if st := j.Stats(); st.CopiesDropped != 896 {
		t.Errorf("Stats: %+v, want 896 copies dropped", st)
	}
	if m := get(t, admin.URL+"/metrics"); !strings.Contains(m, "\nespf_copies_dropped_total 896\n") {
		t.Errorf("/metrics lacks espf_copies_dropped_total 896")
	}
	srv.Close()
	rc.Close()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened: the count is the journal's, and it goes on from the 103
	// copies held: 60 more make 163, the 61st 164, deleted back to 100.
	j = open(100)
	if st := j.Stats(); st.CopiesDropped != 0 {
		t.Errorf("a reopened journal's Stats (this process): %+v, want 0 copies dropped", st)
	}
	checkCopies(t, j, 1000, 103, 896)
	_, srv = startReceiver(t, verify.Config{Auth: au, Journal: j})
	repeat(t, au, srv.URL, 60)
	checkCopies(t, j, 1060, 163, 896)
	repeat(t, au, srv.URL, 1)
	checkCopies(t, j, 1061, 100, 960)
	srv.Close()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	// A smaller bound: cut at once, before any delivery.
	j = open(10)
	checkCopies(t, j, 1061, 10, 1050)
	if st := j.Stats(); st.CopiesDropped != 90 {
		t.Errorf("Stats after the cut at open: %+v, want 90 copies dropped", st)
	}
	j.Close()
	ro, err := journal.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	checkCopies(t, ro, 1061, 10, 1050)
}

// TestCopiesMemoryBounded: 20,000 repeats of one pre-signed request from
// 8 concurrent senders (a load tool's replay) keep an in-memory journal's
// size flat: with MaxCopies 100 it holds at most 163 copies and its pages
// stay under 2 MiB, where keeping every copy takes over 10 MiB. Every
// delivery is counted, and each copy is kept or counted as dropped.
func TestCopiesMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 deliveries")
	}
	const keep, senders, each = 100, 8, 2500
	j, err := journal.Open(journal.Config{MaxCopies: keep})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	au := mustAuth(t, sign.Config{Scheme: "signature", KeyIDs: []string{"pb"}, Keys: []string{"k3y"}})
	_, srv := startReceiver(t, verify.Config{Auth: au, Journal: j})
	payload := body(7615)
	signed := http.Header{"Content-Type": {"application/json"}}
	if err := au.Sign(signed, []byte(payload), time.Now()); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	defer client.CloseIdleConnections()
	size := func() int64 {
		t.Helper()
		n, err := j.Size(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for range senders {
		wg.Go(func() {
			for range each {
				req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(payload))
				req.Header = signed.Clone()
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d, want 200", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const total = senders * each
	bytes := size()
	dups, _ := copyRows(t, j)
	dropped, _ := j.CopiesDropped(t.Context())
	ev, err := j.Get(t.Context(), journal.First, 7615)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d deliveries: %d copies kept, %d dropped, journal %d KiB", total, len(dups), dropped, bytes>>10)
	if ev.Deliveries != total || int64(len(dups))+dropped != total-1 {
		t.Errorf("%d deliveries counted, %d copies kept + %d dropped; want %d and %d", ev.Deliveries, len(dups), dropped, total, total-1)
	}
	if len(dups) < keep || len(dups) >= keep+journal.CopySlack(keep) {
		t.Errorf("%d copies kept, want %d to %d", len(dups), keep, keep+journal.CopySlack(keep)-1)
	}
	if bytes > 2<<20 {
		t.Errorf("the in-memory journal takes %d KiB after %d repeats, want under 2 MiB", bytes>>10, total)
	}
}
