package sim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/sim"
)

func TestStateCheck(t *testing.T) {
	t.Parallel()
	auth, err := sign.New(sign.Config{Scheme: sign.SchemeSignature, KeyIDs: []string{"k"}, Keys: []string{"secret"}, MaxSkew: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var unauthorized atomic.Int64
	// The Application's state: what it answers for each entity.
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := auth.Verify(r.Header, nil, time.Now()); err != nil || r.Method != http.MethodGet {
			unauthorized.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.EscapedPath() {
		case "/state/subscriber/1": // right, with i_event
			w.Write([]byte(`{"exists": true, "i_event": "23"}`))
		case "/state/subscriber/2": // deleted, answered 404: right
			w.WriteHeader(http.StatusNotFound)
		case "/state/subscriber/3": // brought back by a late Created: wrong
			w.Write([]byte(`{"exists": true, "i_event": 17}`))
		case "/state/customer/4": // a crash
			w.WriteHeader(http.StatusInternalServerError)
		case "/state/did/%2B1%20555": // escaped id; existence right, no i_event
			w.Write([]byte(`{"exists": true}`))
		default:
			w.Write([]byte(`{"state": "?"}`))
		}
	})
	srv := httptest.NewServer(app)
	defer srv.Close()

	tr := entity.NewTracker(true)
	deliver := func(k entity.Key, a entity.Action, n int64, attempt int) {
		tr.Emitted(k, a, n, false)
		tr.Delivered(k, a, n, attempt)
	}
	s := func(id string) entity.Key { return entity.Key{Group: entity.Subscriber, ID: id} }
	deliver(s("1"), entity.Created, 10, 1)
	deliver(s("1"), entity.Updated, 23, 1)
	deliver(s("2"), entity.Created, 11, 1)
	deliver(s("2"), entity.Deleted, 30, 1)
	deliver(s("3"), entity.Updated, 23, 1)
	deliver(s("3"), entity.Deleted, 41, 1)
	deliver(s("3"), entity.Created, 17, 3)
	deliver(entity.Key{Group: entity.Customer, ID: "4"}, entity.Created, 12, 1)
	deliver(entity.Key{Group: entity.DID, ID: "+1 555"}, entity.Created, 13, 1)
	deliver(entity.Key{Group: entity.Invoice, ID: "5"}, entity.Created, 14, 1) // answers garbage
	tr.Emitted(s("6"), entity.Created, 15, false)                              // still pending: unknown

	if err := sim.CheckStateURL(srv.URL + "/state/{group}/{id}"); err != nil {
		t.Fatal(err)
	}
	fs, err := sim.StateCheck{URL: srv.URL + "/state/{group}/{id}", Auth: auth, Parallel: 3}.Run(context.Background(), tr.Expectations())
	if err != nil {
		t.Fatal(err)
	}
	if unauthorized.Load() != 0 {
		t.Errorf("%d reads were refused: every GET must carry the delivery credentials", unauthorized.Load())
	}
	if fs.Checked != 6 || fs.Match != 3 || fs.Mismatch != 1 || fs.Errors != 2 || fs.Unknown != 1 || fs.Passed() {
		t.Fatalf("final state %+v", fs)
	}
	if share, ok := fs.Share(); !ok || share != 0.5 {
		t.Errorf("share %v %t", share, ok)
	}
	words := []string{}
	for _, m := range fs.Mismatches {
		words = append(words, m.Entity+": "+m.Words)
	}
	all := strings.Join(words, "\n")
	for _, want := range []string{
		"customer/4: the state URL answered HTTP 500",
		`invoice/5: the state URL answered 200 with "{\"state\": \"?\"}"`,
		"subscriber/3: emitted Created 17, Updated 23, Deleted 41; Updated 23 delivered, Deleted 41 delivered, then Created 17 re-sent and delivered: the Application shows it existing (i_event 17), expected deleted (i_event 41): a deleted entity brought back",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("mismatches:\n%s\nwant a line with %s", all, want)
		}
	}

	// the list is bounded; the rest is counted
	fs, _ = sim.StateCheck{URL: srv.URL + "/state/{group}/{id}", Auth: auth, List: 1}.Run(context.Background(), tr.Expectations())
	if len(fs.Mismatches) != 1 || fs.Truncated != 2 {
		t.Errorf("List 1: %d listed, %d truncated", len(fs.Mismatches), fs.Truncated)
	}
	for _, bad := range []string{"http://x/state/{id}", "http://x/{group}", "ftp://x/{group}/{id}", "/state/{group}/{id}"} {
		if err := sim.CheckStateURL(bad); err == nil {
			t.Errorf("CheckStateURL(%q) accepted", bad)
		}
	}
}
