package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/espfctl/espfctl/internal/event"
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

// TestSendListTypes: --list-types prints every catalog type once, needs no
// --url, and says what --lifecycle sends each as.
func TestSendListTypes(t *testing.T) {
	t.Parallel()
	ios, out, errb := testutil.IO()
	if code := run(t.Context(), []string{"send", "--list-types", "--json"}, ios); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	seen := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e struct {
			Type, Lifecycle string
			Version         int `json:"schema_version"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Version != 1 {
			t.Fatalf("line %q: %v", line, err)
		}
		if _, dup := seen[e.Type]; dup {
			t.Errorf("%s listed twice", e.Type)
		}
		seen[e.Type] = e.Lifecycle
	}
	for _, ct := range event.Default().Types() {
		if _, ok := seen[ct.Name]; !ok {
			t.Errorf("%s is not listed", ct.Name)
		}
	}
	for typ, role := range map[string]string{"Subscriber/Created": "history", "Account/AccessPolicy/Changed": "internal",
		"Account/ServiceAttribute/Changed": "inherited", "SIM/Updated": ""} {
		if seen[typ] != role {
			t.Errorf("%s: lifecycle %q, want %q", typ, seen[typ], role)
		}
	}
}
