package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/sign"
)

// TestServeInspector: serve says where its inspector is ("inspect at
// http://…/ui/") on the admin listener, which lists the deliveries; the
// delivery listener has no inspector (a GET there is a delivery: 405).
func TestServeInspector(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	var stderr lockedBuffer
	cfg := sign.Config{Scheme: "basic", Users: []string{"pb"}, Passwords: []string{"inspector-pw"}}
	au, err := sign.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--auth", "basic", "--user", "pb", "--password", "inspector-pw")
	srv := startServeCmd(t, cmd, &stderr)
	if st := deliver(t, au, srv.addr, 4711); st != 200 {
		t.Fatalf("delivery: %d", st)
	}
	// "inspect at" follows "admin on"; read it from the rest of stderr.
	var url string
	for i := 0; url == ""; i++ {
		if i == 1000 {
			t.Fatalf("no \"inspect at\" on stderr:\n%s", stderr.String())
		}
		if m := regexp.MustCompile(`inspect at (http://\S+/ui/)`).FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		}
		if resp, err := http.Get("http://" + srv.admin + "/healthz"); err == nil {
			resp.Body.Close() // the admin listener is up; stderr has been copied meanwhile
		}
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
