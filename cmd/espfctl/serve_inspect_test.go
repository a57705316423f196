package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/testutil"
)

// TestServeInspector: serve says where its inspector is ("inspect at
// http://…/ui/") on the admin listener, which lists the deliveries; the
// delivery listener has no inspector (a GET there is a delivery: 405).
func TestServeInspector(t *testing.T) {
	t.Parallel()
	bin := espfctlBinary(t)
	cfg := sign.Config{Scheme: "basic", Users: []string{"pb"}, Passwords: []string{"inspector-pw"}}
	au, err := sign.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := testutil.Command(t, bin, "serve", "--listen", "127.0.0.1:0", "--auth", "basic", "--user", "pb", "--password", "inspector-pw")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var srv served
	var url string
	sc := bufio.NewScanner(stderr)
	for url == "" && sc.Scan() {
		line := sc.Text()
		if m := regexp.MustCompile(`listening on http://(\S+?)/`).FindStringSubmatch(line); m != nil {
			srv.addr = m[1]
		}
		if m := regexp.MustCompile(`admin on http://(\S+) `).FindStringSubmatch(line); m != nil {
			srv.admin = m[1]
		}
		if m := regexp.MustCompile(`inspect at (http://\S+/ui/)`).FindStringSubmatch(line); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("serve printed no \"inspect at\": %v", sc.Err())
	}
	go io.Copy(io.Discard, stderr)
	srv.cmd = cmd
	if st := deliver(t, au, srv.addr, 4711); st != 200 {
		t.Fatalf("delivery: %d", st)
	}
	if url != "http://"+srv.admin+"/ui/" {
		t.Errorf("inspect at %s, want the admin listener's /ui/", url)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "espfctl <b>inspector</b>") || !strings.Contains(string(page), `data-key="first/4711"`) {
		t.Errorf("GET %s: %d, want the inspector listing i_event 4711", url, resp.StatusCode)
	}
	if strings.Contains(string(page), "inspector-pw") {
		t.Error("the inspector page holds the password")
	}
	resp, err = http.Get("http://" + srv.addr + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /ui/ on the delivery listener: %d, want 405", resp.StatusCode)
	}
	srv.cmd.Process.Signal(os.Interrupt)
	srv.cmd.Wait()
}
