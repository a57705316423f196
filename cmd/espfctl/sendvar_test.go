package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/espfctl/espfctl/internal/testutil"
)

// bodyServer answers 200 and keeps every body it received.
func bodyServer(t *testing.T) (*httptest.Server, func() [][]byte) {
	t.Helper()
	var mu sync.Mutex
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		return append([][]byte(nil), bodies...)
	}
}

// TestSendOnePreciseEvent: --count 1 --type T --var fires exactly that
// event: the variable over its generated value, a number kept a number and
// a quoted value a string; a --var the type's catalog entry does not list
// is warned about, named with the variables it does list, and sent anyway.
func TestSendOnePreciseEvent(t *testing.T) {
	t.Parallel()
	srv, got := bodyServer(t)
	ios, _, errb := testutil.IO()
	args := sendArgs(srv.URL, "--count", "1", "--type", "Subscriber/Updated", "--var", "i_account=1000889",
		"--var", `note="0123"`, "--payload", "minimal")
	if code := run(t.Context(), args, ios); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	bodies := got()
	if len(bodies) != 1 {
		t.Fatalf("%d bodies, want exactly one", len(bodies))
	}
	if want := `{"event_type":"Subscriber/Updated","variables":{"i_account":1000889,"i_event":1,"note":"0123"}}`; string(bodies[0]) != want {
		t.Errorf("body %s, want %s", bodies[0], want)
	}
	if !strings.Contains(errb.String(), "--var note: Subscriber/Updated's catalog entry lists i_account, i_event") {
		t.Errorf("no warning naming the type's variables: %s", errb)
	}
	if strings.Contains(errb.String(), "--var i_account") {
		t.Errorf("a listed variable was warned about: %s", errb)
	}
}

func TestSendVarUsage(t *testing.T) {
	t.Parallel()
	srv := statusServer(t, 200)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--var", "novalue"}, "want NAME=VALUE"},
		{[]string{"--var", "i_event=5"}, "give --first-event"},
		{[]string{"--var", "i_account=5", "--lifecycle"}, "--var sets variables of generated events"},
	} {
		ios, _, errb := testutil.IO()
		if code := run(t.Context(), sendArgs(srv.URL, append([]string{"--count", "1"}, tt.args...)...), ios); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tt.args, code, exitUsage)
		}
		if !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: stderr %q does not say %q", tt.args, errb, tt.want)
		}
	}
}
