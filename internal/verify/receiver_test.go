package verify_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

type vectors struct {
	Basic []struct {
		User, Password string
	}
	Custom []struct {
		Scheme, Credentials string
	}
	Signature []struct {
		KeyID string `json:"key_id"`
		Key   string
	}
	Bearer []struct {
		Key  string
		IEnv int64 `json:"i_env"`
		Exp  int64
	}
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("../../testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func mustAuth(t *testing.T, cfg sign.Config) sign.Auth {
	t.Helper()
	a, err := sign.New(cfg)
	if err != nil {
		t.Fatalf("sign.New(%s): %v", cfg.Scheme, err)
	}
	return a
}

// startReceiver runs a receiver over real loopback HTTP.
func startReceiver(t *testing.T, cfg verify.Config) (*verify.Receiver, *httptest.Server) {
	t.Helper()
	rc, err := verify.NewReceiver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rc)
	t.Cleanup(func() { srv.Close(); rc.Close() })
	return rc, srv
}

func body(iEvent int64) string {
	return `{"event_type":"Subscriber/Created","variables":{"i_account":1000889,"i_event":` + itoa(iEvent) + `}}`
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// post sends one delivery, signed by s at the given time (s nil: unsigned),
// after edit changes the headers; it returns the status.
func post(t *testing.T, url string, s sign.Signer, at time.Time, payload string, edit func(http.Header)) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s != nil {
		if err := s.Sign(req.Header, []byte(payload), at); err != nil {
			t.Fatal(err)
		}
	} else {
		req.Header.Set("Date", at.UTC().Format(http.TimeFormat))
	}
	if edit != nil {
		edit(req.Header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestEverySchemeOverLoopback(t *testing.T) {
	v := loadVectors(t)
	b64 := base64.RawURLEncoding.EncodeToString
	algNone := "Bearer " + b64([]byte(`{"alg":"none"}`)) + "." + b64([]byte(`{"i_env":3,"Exp":4102444800}`)) + "."
	iEnv := v.Bearer[0].IEnv
	expired := time.Unix(v.Bearer[0].Exp, 0)
	type bad struct {
		name  string
		s     sign.Signer
		at    time.Duration // signing time relative to now
		edit  func(http.Header)
		wantC int
	}
	tests := []struct {
		name     string
		recv     sign.Config
		good     sign.Config
		wrong    sign.Config
		otherHdr string // a header of another scheme
		extra    []bad
	}{
		{name: "basic",
			recv:     sign.Config{Scheme: "basic", Users: []string{v.Basic[1].User}, Passwords: []string{v.Basic[1].Password}},
			good:     sign.Config{Scheme: "basic", Users: []string{v.Basic[1].User}, Passwords: []string{v.Basic[1].Password}},
			wrong:    sign.Config{Scheme: "basic", Users: []string{v.Basic[1].User}, Passwords: []string{"nope"}},
			otherHdr: "Plain passexample"},
		{name: "custom",
			recv:     sign.Config{Scheme: "custom", Name: v.Custom[0].Scheme, Credentials: []string{v.Custom[0].Credentials}},
			good:     sign.Config{Scheme: "custom", Name: v.Custom[0].Scheme, Credentials: []string{v.Custom[0].Credentials}},
			wrong:    sign.Config{Scheme: "custom", Name: v.Custom[0].Scheme, Credentials: []string{"nope"}},
			otherHdr: "Basic dXNlcm5hbWU6c2VjcmV0"},
		{name: "signature",
			recv:     sign.Config{Scheme: "signature", KeyIDs: []string{v.Signature[1].KeyID}, Keys: []string{v.Signature[1].Key}, MaxSkew: 5 * time.Minute},
			good:     sign.Config{Scheme: "signature", KeyIDs: []string{v.Signature[1].KeyID}, Keys: []string{v.Signature[1].Key}},
			wrong:    sign.Config{Scheme: "signature", KeyIDs: []string{v.Signature[1].KeyID}, Keys: []string{"nope"}},
			otherHdr: "Basic dXNlcm5hbWU6c2VjcmV0",
			extra: []bad{{name: "date beyond the skew", at: -10 * time.Minute, wantC: 401},
				{name: "no date", edit: func(h http.Header) { h.Del("Date") }, wantC: 401}}},
		{name: "bearer",
			recv:     sign.Config{Scheme: "bearer", Keys: []string{v.Bearer[0].Key}, IEnv: &iEnv, MaxSkew: time.Minute},
			good:     sign.Config{Scheme: "bearer", Keys: []string{v.Bearer[0].Key}, IEnv: &iEnv},
			wrong:    sign.Config{Scheme: "bearer", Keys: []string{"nope"}, IEnv: &iEnv},
			otherHdr: "Basic dXNlcm5hbWU6c2VjcmV0",
			extra: []bad{{name: "expired token", s: mustAuth(t, sign.Config{Scheme: "bearer", Keys: []string{v.Bearer[0].Key}, IEnv: &iEnv, Exp: &expired}), wantC: 401},
				{name: "alg none", edit: func(h http.Header) { h.Set("Authorization", algNone) }, wantC: 401}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc, srv := startReceiver(t, verify.Config{Auth: mustAuth(t, tt.recv)})
			good, wrong := mustAuth(t, tt.good), mustAuth(t, tt.wrong)
			now := time.Now()
			cases := append([]bad{
				{name: "wrong credentials", s: wrong, wantC: 401},
				{name: "wrong scheme", edit: func(h http.Header) { h.Set("Authorization", tt.otherHdr) }, wantC: 401},
				{name: "missing header", edit: func(h http.Header) { h.Del("Authorization") }, wantC: 401},
			}, tt.extra...)
			for _, c := range cases {
				s := c.s
				if s == nil {
					s = good
				}
				if got := post(t, srv.URL, s, now.Add(c.at), body(1), c.edit); got != c.wantC {
					t.Errorf("%s: status %d, want %d", c.name, got, c.wantC)
				}
			}
			for _, c := range []struct {
				name, payload string
				want          int
			}{
				{"bad json", `{"event_type":`, 400},
				{"missing i_event", `{"event_type":"Subscriber/Created","variables":{"i_account":1}}`, 400},
				{"oversized body", `{"event_type":"Subscriber/Created","variables":{"i_event":1,"x":"` + strings.Repeat("a", verify.DefaultMaxBody) + `"}}`, 413},
			} {
				if got := post(t, srv.URL, good, now, c.payload, nil); got != c.want {
					t.Errorf("%s: status %d, want %d", c.name, got, c.want)
				}
			}
			resp, err := http.Get(srv.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 405 {
				t.Errorf("GET: status %d, want 405", resp.StatusCode)
			}
			for i := range 2 {
				if got := post(t, srv.URL, good, now, body(7615), nil); got != 200 {
					t.Fatalf("valid delivery #%d: status %d, want 200", i+1, got)
				}
			}
			evs := events(t, rc.Journal())
			if len(evs) != 1 || evs[0].ID != 7615 || evs[0].Deliveries != 2 || evs[0].AuthScheme != tt.name {
				t.Errorf("journal = %+v, want one row for i_event 7615 with 2 deliveries by %s", evs, tt.name)
			}
			st := rc.Stats()
			if st.FirstDelivered != 1 || st.Duplicates != 1 || st.AuthFailures != int64(3+len(tt.extra)) {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestDateRequiredForEveryScheme(t *testing.T) {
	_, srv := startReceiver(t, verify.Config{Auth: mustAuth(t, sign.Config{Scheme: "custom", Name: "Plain", Credentials: []string{"passexample"}})})
	h := "Plain passexample"
	for _, tt := range []struct {
		name string
		edit func(http.Header)
		want int
	}{
		{"one date", func(http.Header) {}, 200},
		{"no date", func(x http.Header) { x.Del("Date") }, 400},
		{"two dates", func(x http.Header) { x.Add("Date", x.Get("Date")) }, 400},
		{"unreadable date", func(x http.Header) { x.Set("Date", "yesterday") }, 400},
	} {
		got := post(t, srv.URL, nil, time.Now(), body(5), func(x http.Header) { x.Set("Authorization", h); tt.edit(x) })
		if got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestStrictCatalog(t *testing.T) {
	unknown := `{"event_type":"Nope/Happened","variables":{"i_event":9}}`
	for _, strict := range []bool{false, true} {
		var mu sync.Mutex
		var flags []string
		_, srv := startReceiver(t, verify.Config{Strict: strict, OnDelivery: func(d verify.Delivery) {
			mu.Lock()
			flags = append(flags, d.Flags...)
			mu.Unlock()
		}})
		want := 200
		if strict {
			want = 400
		}
		if got := post(t, srv.URL, nil, time.Now(), unknown, nil); got != want {
			t.Errorf("strict=%t: unknown event type answered %d, want %d", strict, got, want)
		}
		mu.Lock()
		if len(flags) != 1 || flags[0] != "unknown event type" {
			t.Errorf("strict=%t: flags %q, want the unknown type flagged", strict, flags)
		}
		mu.Unlock()
	}
}

func TestConcurrentFirstDelivery(t *testing.T) {
	var mu sync.Mutex
	firsts := 0
	j, err := journal.Open(journal.Config{Path: t.TempDir() + "/j.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rc, srv := startReceiver(t, verify.Config{Journal: j, OnDelivery: func(d verify.Delivery) {
		if d.Status == 200 && !d.Duplicate {
			mu.Lock()
			firsts++
			mu.Unlock()
		}
	}})
	const n = 32
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for range n {
		wg.Go(func() { codes <- post(t, srv.URL, nil, time.Now(), body(42), nil) })
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("status %d, want 200", c)
		}
	}
	evs := events(t, j)
	if firsts != 1 || len(evs) != 1 || evs[0].Deliveries != n || rc.Stats().Duplicates != n-1 {
		t.Errorf("%d first deliveries, journal %+v, stats %+v; want 1 first and %d deliveries", firsts, evs, rc.Stats(), n)
	}
}

func TestMetricsAndEvents(t *testing.T) {
	rc, srv := startReceiver(t, verify.Config{})
	admin := httptest.NewServer(rc.Admin())
	t.Cleanup(admin.Close)
	post(t, srv.URL, nil, time.Now(), body(1), nil)
	post(t, srv.URL, nil, time.Now(), body(1), nil)
	text := get(t, admin.URL+"/metrics")
	for _, fam := range []string{"espf_deliveries_total{code=\"200\",event_type=\"Subscriber/Created\"} 2",
		"espf_duplicates_total 1", "espf_auth_failures_total 0", "espf_handling_seconds_bucket",
		"go_goroutines ", "process_resident_memory_bytes ", "espf_rejections_dropped_total 0"} {
		if !strings.Contains(text, fam) {
			t.Errorf("/metrics lacks %q", fam)
		}
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(get(t, admin.URL+"/events")), &ev); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"i_event", "event_type", "variables", "deliveries", "first_delivery", "last_delivery", "auth_scheme", "status"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("/events lacks %q: %v", k, ev)
		}
	}
	if got := get(t, admin.URL+"/healthz"); got != "ok\n" {
		t.Errorf("/healthz = %q", got)
	}
	// The delivery listener serves deliveries only: a GET there is a
	// delivery with the wrong method, and the journal is not readable.
	for _, path := range []string{"/events", "/metrics", "/healthz"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || strings.Contains(string(b), "i_event") {
			t.Errorf("GET %s on the delivery listener: %d %q, want 405 and no journal", path, resp.StatusCode, b)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
