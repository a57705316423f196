package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/testutil"
)

// TestServeRawKeepsCustomScheme: serve --auth custom --scheme Plain knows
// the scheme name, so the raw capture keeps it (as received) when the
// credentials header starts with it, and redacts the rest: GET /events
// and journal --raw show "Plain [redacted]". A header whose first word is
// anything else may start with the secret: it stays fully "[redacted]"
// (GET /rejections, journal --rejected --raw). The credentials are shown
// nowhere.
func TestServeRawKeepsCustomScheme(t *testing.T) {
	t.Parallel()
	const secret = "r4w-Plain-s3cret"
	db := filepath.Join(t.TempDir(), "raw.db")
	s := startInServe(t, "--auth", "custom", "--scheme", "Plain", "--credentials", secret, "--journal", db)
	if s.admin == "" {
		t.Fatalf("no admin address in serve's stderr:\n%s", s.err)
	}
	for _, d := range []struct {
		iEvent int
		auth   string
		status int
	}{
		{1, "Plain " + secret, 200},
		{2, "plain " + secret, 200},       // scheme names are case-insensitive: kept as received
		{3, "Token " + secret, 401},       // another first word: it may be the secret
		{4, secret + " Plain", 401},       // the credentials first, the scheme name last
		{5, "PlainX " + secret, 401},      // a word that only starts with the scheme name
		{6, "Plain " + secret + "x", 401}, // the right scheme, wrong credentials
	} {
		body := fmt.Sprintf(`{"event_type":"Subscriber/Created","variables":{"i_account":%d,"i_event":%d}}`, d.iEvent, d.iEvent)
		req, err := http.NewRequest(http.MethodPost, "http://"+s.addr+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", d.auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != d.status {
			t.Fatalf("i_event %d (%q…): answered %d, want %d", d.iEvent, d.auth[:5], resp.StatusCode, d.status)
		}
	}
	get := func(path string) string {
		resp, err := http.Get("http://" + s.admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return string(b)
	}
	events := get("/events") // an event is journaled before its 200
	rejections := get("/rejections")
	// a rejection is journaled in the background: wait for the four (only
	// the test's -timeout bounds the wait)
	for ; strings.Count(rejections, "\n") < 4; rejections = get("/rejections") {
		time.Sleep(10 * time.Millisecond) // polls serve's journal writer; not a timing assertion
	}
	s.stop()
	journal := func(args ...string) string {
		ios, out, errb := testutil.IO()
		if code := run(context.Background(), append([]string{"journal", db}, args...), ios); code != exitOK {
			t.Fatalf("journal %q: exit %d: %s", args, code, errb)
		}
		return out.String()
	}
	raw, rejectedRaw := journal("--raw"), journal("--rejected", "--raw")

	for _, o := range []struct {
		what, text string
		want       []string
		count      int // of "[redacted]"
	}{
		{"GET /events", events, []string{`"Authorization":["Plain [redacted]"]`, `"Authorization":["plain [redacted]"]`}, 2},
		{"journal --raw", raw, []string{"Authorization: Plain [redacted]\n", "Authorization: plain [redacted]\n"}, 2},
		{"GET /rejections", rejections, []string{`"Authorization":["[redacted]"]`, `"Authorization":["Plain [redacted]"]`, `"Authorization":["Token [redacted]"]`}, 4},
		{"journal --rejected --raw", rejectedRaw, []string{"Authorization: [redacted]\n", "Authorization: Plain [redacted]\n", "Authorization: Token [redacted]\n"}, 4},
	} {
		for _, w := range o.want {
			if !strings.Contains(o.text, w) {
				t.Errorf("%s lacks %q:\n%s", o.what, w, o.text)
			}
		}
		if n := strings.Count(o.text, "[redacted]"); n != o.count {
			t.Errorf("%s: %d redacted values, want %d:\n%s", o.what, n, o.count, o.text)
		}
		for _, leak := range []string{secret, "r4w-", "PlainX ["} {
			if strings.Contains(o.text, leak) {
				t.Errorf("%s shows %q:\n%s", o.what, leak, o.text)
			}
		}
	}
	// the rejected ones, one per line: the configured name and a registered
	// one (Token, which the reason quotes too) are kept, any other word not
	if n := strings.Count(rejectedRaw, "Authorization: [redacted]\n"); n != 2 {
		t.Errorf("journal --rejected --raw: %d fully redacted headers, want 2 (the secret first, PlainX):\n%s", n, rejectedRaw)
	}
}
