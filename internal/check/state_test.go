package check_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
)

// arrivalApp applies every event in the order it arrives (a Deleted
// removes the row) and shows its table at /state/{group}/{id}: wrong under
// reordering.
func arrivalApp(t *testing.T, c sign.Config) http.Handler {
	au := mustAuth(t, c)
	var mu sync.Mutex
	rows := map[string]int64{} // entity -> the i_event applied last
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if au.Verify(r.Header, b, time.Now()) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodGet {
			n, ok := rows[strings.TrimPrefix(r.URL.Path, "/state/")]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"exists": true, "i_event": n})
			return
		}
		ev, err := event.Decode(b)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if k, a, ok := entity.Of(ev.Type, ev.Variables); ok {
			n, _ := ev.IEvent()
			if a == entity.Deleted {
				delete(rows, k.String())
			} else {
				rows[k.String()] = n
			}
		}
		w.WriteHeader(http.StatusOK)
	})
}

// TestStateCases: with --state-url, the 7.state cases catch an
// Application that applies events in arrival order, each saying what it
// shows; without it they are left out, or skipped when named.
func TestStateCases(t *testing.T) {
	t.Parallel()
	c := vectors[sign.SchemeSignature]
	url := serve(t, arrivalApp(t, c), nil)
	base := strings.TrimSuffix(url, "/espf")
	rs, err := check.Run(t.Context(), check.Config{URL: url, Creds: c, Select: []string{"7.state"}, StateURL: base + "/state/{group}/{id}"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"7.state/updated-before-created": "the newer changes lost",
		"7.state/created-after-deleted":  "a deleted entity brought back",
		"7.state/updated-after-deleted":  "a deleted entity brought back",
	}
	if len(rs) != len(want) {
		t.Fatalf("%d results, want %d", len(rs), len(want))
	}
	for _, r := range rs {
		if r.Grade != check.Fail || !strings.Contains(r.Consequence, want[r.ID]) || r.Curl == "" {
			t.Errorf("%s: %s %q (curl %t), want a failure saying %q", r.ID, r.Grade, r.Consequence, r.Curl != "", want[r.ID])
		}
	}

	all, err := check.Run(t.Context(), check.Config{URL: url, Creds: c, Select: []string{"7"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.Section == "7.state" {
			t.Errorf("%s ran without --state-url", r.ID)
		}
	}
	named, err := check.Run(t.Context(), check.Config{URL: url, Creds: c, Select: []string{"7.state/created-after-deleted"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(named) != 1 || named[0].Grade != check.Skip || !strings.Contains(named[0].Consequence, "needs --state-url") {
		t.Errorf("named without --state-url: %+v", named)
	}
}
