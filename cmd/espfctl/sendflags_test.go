package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/testutil"
)

// TestSendTypeIsChecked: --type and --mix are checked against the
// catalog with "did you mean"; --allow-unknown-type sends anyway.
func TestSendTypeIsChecked(t *testing.T) {
	t.Parallel()
	rec, url := newBodyRecorder(t)
	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"--type", "Subscriber/Creatd"}, exitUsage, `--type "Subscriber/Creatd": unknown event type (not in the ESPF catalog; --allow-unknown-type sends it anyway); did you mean "Subscriber/Created"?`},
		{[]string{"--mix", "Subscriber/Created=2,Customer/Updatd=1"}, exitUsage, `--mix "Customer/Updatd": unknown event type`},
		{[]string{"--type", "Subscriber/Creatd", "--allow-unknown-type"}, exitOK, ""},
		{[]string{"--type", "Subscriber"}, exitUsage, "want Group/Action"},
		{[]string{"--renumber"}, exitUsage, "--renumber renumbers an --events replay"},
	} {
		ios, _, errb := testutil.IO()
		if code := run(t.Context(), sendArgs(url, append([]string{"--count", "1"}, tt.args...)...), ios); code != tt.code || !strings.Contains(errb.String(), tt.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errb, tt.code, tt.err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.bodies) != 1 {
		t.Errorf("%d events arrived, want only the one allowed", len(rec.bodies))
	}
}

// TestReportReadsStdin: report - reads a results file from standard input,
// also beside files.
func TestReportReadsStdin(t *testing.T) {
	t.Parallel()
	srv := statusServer(t, 200)
	res := filepath.Join(t.TempDir(), "a.jsonl")
	ios, _, errb := testutil.IO()
	if code := run(t.Context(), sendArgs(srv.URL, "--count", "3", "--results", res), ios); code != exitOK {
		t.Fatalf("send: exit %d: %s", code, errb)
	}
	b, err := os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"report", "-"}, {"report", res, "-"}} {
		ios, out, errb := testutil.IO()
		ios.In = bytes.NewReader(b)
		if code := run(t.Context(), args, ios); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errb)
		}
		want := map[int]string{2: "events\t3\n", 3: "attempts\t6\n"}[len(args)]
		if !strings.Contains(out.String(), want) {
			t.Errorf("%v: report lacks %q:\n%s", args, want, out)
		}
	}
	ios, _, errb = testutil.IO()
	ios.In = strings.NewReader("{\"i_event\":1}\nnot json\n")
	if code := run(t.Context(), []string{"report", "-"}, ios); code != exitUsage || !strings.Contains(errb.String(), "stdin:2:") {
		t.Errorf("a bad line on stdin: exit %d, stderr %q; want 2 and stdin:2", code, errb)
	}
}

// TestSendEventsFromAPipe: --events reads a pipe (here standard input
// given as a device path would be one too); an empty replay is refused.
func TestSendEventsFromAPipe(t *testing.T) {
	t.Parallel()
	rec, url := newBodyRecorder(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = w.WriteString(`{"event_type":"Subscriber/Created","variables":{"i_account":1,"i_event":41}}` + "\n")
		w.Close()
	}()
	defer r.Close()
	ios, _, errb := testutil.IO()
	if code := run(t.Context(), sendArgs(url, "--events", "/dev/fd/"+strconv.Itoa(int(r.Fd()))), ios); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	rec.mu.Lock()
	if len(rec.bodies[41]) != 1 {
		t.Errorf("bodies %v, want i_event 41 once", rec.bodies)
	}
	rec.mu.Unlock()
	ios, _, errb = testutil.IO()
	empty := filepath.Join(t.TempDir(), "empty.jsonl")
	writeFile(t, empty, "\n")
	if code := run(t.Context(), sendArgs(url, "--events", empty), ios); code != exitUsage || !strings.Contains(errb.String(), "holds no events: nothing to send") {
		t.Errorf("an empty replay: exit %d, stderr %q", code, errb)
	}
}

// TestSendBearerClaims: --i-env is the token's claim and the i_env of SIM
// bodies; --exp fixes Exp, --ttl sets it from each signing; both need
// bearer and exclude each other.
func TestSendBearerClaims(t *testing.T) {
	t.Parallel()
	type seen struct{ auth, body string }
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Header.Get("Authorization"), string(b)})
		mu.Unlock()
	}))
	defer srv.Close()
	claims := func(t *testing.T, auth string) map[string]any {
		t.Helper()
		parts := strings.Split(strings.TrimPrefix(auth, "Bearer "), ".")
		if len(parts) != 3 {
			t.Fatalf("not a JWT: %q", auth)
		}
		b, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	bearer := []string{"send", "--url", srv.URL, "--auth", "bearer", "--key", "superkey", "--count", "1", "--type", "SIM/Updated"}
	for _, tt := range []struct {
		name    string
		extra   []string
		wantExp func(float64) bool
	}{
		{"--exp", []string{"--i-env", "3", "--exp", "1560342316"}, func(e float64) bool { return e == 1560342316 }},
		{"--ttl", []string{"--i-env", "3", "--ttl", "10m"}, func(e float64) bool {
			d := time.Until(time.Unix(int64(e), 0))
			return d > 9*time.Minute && d <= 10*time.Minute
		}},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		ios, _, errb := testutil.IO()
		if code := run(t.Context(), append(bearer, tt.extra...), ios); code != exitOK {
			t.Fatalf("%s: exit %d: %s", tt.name, code, errb)
		}
		mu.Lock()
		if len(got) != 1 {
			t.Fatalf("%s: %d requests", tt.name, len(got))
		}
		c := claims(t, got[0].auth)
		if c["i_env"] != float64(3) || !tt.wantExp(c["Exp"].(float64)) {
			t.Errorf("%s: claims %v", tt.name, c)
		}
		if !strings.Contains(got[0].body, `"i_env":3`) {
			t.Errorf("%s: body %s, want the token's i_env 3", tt.name, got[0].body)
		}
		mu.Unlock()
		if strings.Contains(errb.String(), "i_env claim") {
			t.Errorf("%s: warned about i_env although --i-env was given: %s", tt.name, errb)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{append(bearer, "--i-env", "3", "--exp", "1", "--ttl", "1m"), "--exp and --ttl exclude each other"},
		{sendArgs(srv.URL, "--ttl", "1m"), "they need --auth bearer"},
		{append(bearer, "--ttl", "0s"), "--ttl 0s: must be positive"},
	} {
		ios, _, errb := testutil.IO()
		if code := run(t.Context(), tt.args, ios); code != exitUsage || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errb, tt.want)
		}
	}
}
