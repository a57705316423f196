package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/testutil"
)

// TestSendLifecycleThreePartNames: an Application that answers 500 to an
// event type of three parts (contract §8) makes send --lifecycle exit 1:
// the internal names are re-sent until they give up; every other event is
// delivered.
func TestSendLifecycleThreePartNames(t *testing.T) {
	t.Parallel()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if ev, err := event.Decode(b); err == nil && strings.Count(ev.Type, "/") > 1 {
			w.WriteHeader(500)
		}
	}))
	defer app.Close()
	ios, out, errb := testutil.IO()
	args := sendArgs(app.URL, "--lifecycle", "--entities", "40", "--groups", "Subscriber,Customer", "--internal", "30%",
		"--retry-interval", "5ms", "--retry-backoff", "fixed", "--max-attempts", "3", "--json", "--no-progress")
	if code := run(t.Context(), args, ios); code != exitFailed {
		t.Fatalf("exit %d, want %d: %s", code, exitFailed, errb)
	}
	var s report.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.InternalEvents == 0 {
		t.Fatalf("no internal event was sent: %s", out)
	}
	var gaveUp int64
	for typ, c := range s.ByType {
		three := strings.Count(typ, "/") > 1
		switch {
		case three && (c.GaveUp != c.Events || c.Delivered != 0):
			t.Errorf("%s: %+v, want every event re-sent until it gave up", typ, c)
		case !three && c.Delivered != c.Events:
			t.Errorf("%s: %+v, want every event delivered", typ, c)
		}
		if three {
			gaveUp += c.GaveUp
		}
	}
	if s.Attempts < s.Events+2*gaveUp {
		t.Errorf("%d attempts for %d events, %d given up after 3 attempts each: they were not re-sent", s.Attempts, s.Events, gaveUp)
	}
}

// TestSendLifecycleBursts: a customer change reaches every account of the
// customer in progress at once; the report names the bursts, and the
// final state covers the accounts they touched (serve's reference keeps
// them right).
func TestSendLifecycleBursts(t *testing.T) {
	t.Parallel()
	app := httptest.NewServer(newLifecycleApp(t, byIEvent, ""))
	defer app.Close()
	ios, out, errb := testutil.IO()
	args := sendArgs(app.URL, "--lifecycle", "--entities", "200", "--active", "30", "--groups", "Customer,Subscriber",
		"--inherited", "60%", "--state-url", app.URL+"/state/{group}/{id}", "--json", "--no-progress")
	if code := run(t.Context(), args, ios); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	var s report.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	b := s.Bursts
	if b == nil || b.Count == 0 || b.Events < b.Count || len(b.List) == 0 {
		t.Fatalf("bursts %+v: want customer changes sent on to their accounts", b)
	}
	for _, x := range b.List {
		if !strings.HasPrefix(x.Customer, "customer/") || x.Accounts < 1 {
			t.Errorf("burst %+v: want a customer and its accounts", x)
		}
	}
	if f := s.FinalState; f == nil || f.Mismatch != 0 || f.Checked == 0 {
		t.Errorf("final_state %+v: want every entity, accounts touched by bursts included, to match", f)
	}
	if s.Payload != "enriched" {
		t.Errorf("payload %q, want the default enriched", s.Payload)
	}
}
