package main

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/espfctl/espfctl/internal/testutil"
)

// cancelOn is a status stream that cancels the run the first time it
// reads want: a stand-in for ^C once the run is under way.
type cancelOn struct {
	mu     sync.Mutex
	want   string
	cancel context.CancelFunc
	buf    strings.Builder
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.want) {
		c.cancel()
	}
	return len(p), nil
}

// TestRunInterrupted: a run stopped while it sends exits 130, and neither
// its JUnit file nor its HTML report looks green.
func TestRunInterrupted(t *testing.T) {
	dir := t.TempDir()
	scen := filepath.Join(dir, "long.yaml")
	if err := os.WriteFile(scen, []byte(`version: 1
name: long
auth: {scheme: basic, user: u, password: p}
phases: [{rate: 20/s, duration: 60s}]
expect:
  delivered: 100%
`), 0o644); err != nil {
		t.Fatal(err)
	}
	junit, page := filepath.Join(dir, "j.xml"), filepath.Join(dir, "r.html")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ios, out, _ := testutil.IO()
	errs := &cancelOn{want: "sent ", cancel: cancel} // the first progress line
	ios.Err, ios.ErrTTY = errs, true                 // progress every second
	code := run(ctx, []string{"run", scen, "--junit", junit, "--html", page}, ios)
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d (interrupted); stderr:\n%s", code, exitInterrupted, errs.buf.String())
	}
	if strings.Contains(errs.buf.String(), "context canceled") {
		t.Errorf("Go's \"context canceled\" leaks into the message:\n%s", errs.buf.String())
	}
	if !strings.Contains(out.String(), "INTERRUPTED") {
		t.Errorf("the report does not say INTERRUPTED:\n%s", out)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Type    string `xml:"type,attr"`
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("JUnit: %v\n%s", err, b)
	}
	found := false
	for _, c := range doc.Suites[0].Cases {
		if f := c.Failure; f != nil && f.Type == "interrupted" && strings.Contains(f.Message, "interrupted") {
			found = true
		}
	}
	if doc.Failures == 0 || !found {
		t.Errorf("JUnit of an interrupted run has failures=%d and no failing testcase saying interrupted:\n%s", doc.Failures, b)
	}
	h, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(h), `<p class="banner">INTERRUPTED`) {
		t.Errorf("the HTML report does not say INTERRUPTED at the top")
	}
}
