package inspect_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/inspect"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

var basic = sign.Config{Scheme: sign.SchemeBasic, Users: []string{"pb"}, Passwords: []string{"s3cret-pw"}}

// app is a test Application behind serve --forward-to: it records every
// request it gets, byte for byte, and answers what answer says.
type app struct {
	mu     sync.Mutex
	got    []recorded
	answer func(body []byte) int
	url    string
}

type recorded struct {
	Header http.Header
	Body   []byte
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.got = append(a.got, recorded{r.Header.Clone(), b})
	a.mu.Unlock()
	st := http.StatusOK
	if a.answer != nil {
		st = a.answer(b)
	}
	w.WriteHeader(st)
	fmt.Fprintf(w, "app says %d\n", st)
}

func (a *app) requests() []recorded {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]recorded(nil), a.got...)
}

// rig is serve as the command puts it together, over real loopback: the
// delivery listener, the admin listener with the inspector, a file journal
// and a test Application behind --forward-to.
type rig struct {
	rc       *verify.Receiver
	ui       *inspect.UI
	app      *app
	delivery string // the delivery URL
	admin    string // http://127.0.0.1:PORT
	auth     sign.Auth
	commits  *journal.Subscription // every commit, for awaitRejected
}

// awaitRejected waits until the journal has committed n rejections (they
// are journaled without making their answer wait); only the test's
// -timeout bounds the wait.
func (r *rig) awaitRejected(t testing.TB, n int64) {
	t.Helper()
	for {
		c, err := r.rc.Journal().Counts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c.Rejected >= n {
			return
		}
		if _, ok := <-r.commits.C; !ok {
			t.Fatal("the test's subscription to the journal was dropped")
		}
	}
}

type rigOptions struct {
	noForward bool
	answer    func([]byte) int
	timeout   time.Duration
	journal   *journal.Journal
	tick      time.Duration
	bench     bool // no subscription of the test's own (awaitRejected)
	maxBody   int64
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serveOn runs the server called name until the test ends.
func serveOn(t testing.TB, name string, run func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s server: %v", name, err)
		}
	})
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	au, err := sign.New(basic)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{app: &app{answer: o.answer}, auth: au}
	j := o.journal
	if j == nil {
		if j, err = journal.Open(journal.Config{Path: filepath.Join(t.TempDir(), "espf.db")}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Close() })
	}
	if !o.bench {
		r.commits = j.Subscribe(1 << 16)
		t.Cleanup(r.commits.Close)
	}
	cfg := verify.Config{Auth: au, Journal: j, MaxBody: o.maxBody}
	if !o.noForward {
		appLn := listen(t)
		r.app.url = "http://" + appLn.Addr().String() + "/espf"
		serveOn(t, "Application", func(ctx context.Context) error { return verify.Serve(ctx, appLn, r.app, time.Second) })
		cfg.Forward = &verify.Forward{URL: r.app.url, Timeout: o.timeout}
	}
	if r.rc, err = verify.NewReceiver(cfg); err != nil {
		t.Fatal(err)
	}
	dl := listen(t)
	r.delivery = "http://" + dl.Addr().String() + "/"
	serveOn(t, "delivery", func(ctx context.Context) error { return verify.Serve(ctx, dl, r.rc, time.Second) })
	if r.ui, err = inspect.New(inspect.Config{Receiver: r.rc, Creds: basic, URL: r.delivery, Journal: "espf.db", Tick: o.tick}); err != nil {
		t.Fatal(err)
	}
	al := listen(t)
	r.admin = "http://" + al.Addr().String()
	h := inspect.Mount(r.ui, r.rc.Admin())
	serveOn(t, "admin", func(ctx context.Context) error { return verify.ServeAdmin(ctx, al, h) })
	return r
}

var client = &http.Client{} // no timeout: only the test's -timeout bounds a request

// deliver posts body as the ESPF does, signed by au (nil: no credentials),
// and returns the status.
func deliver(t testing.TB, url string, au sign.Signer, body []byte) int {
	t.Helper()
	req, err := espf.NewRequest(context.Background(), url, body, http.Header{"User-Agent": {"PortaBilling-ESPF/test"}}, au, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func eventBody(typ string, iEvent, account int64) []byte {
	return fmt.Appendf(nil, `{"event_type":%q,"variables":{"i_event":%d,"i_account":%d,"i_env":1,"note":"<b>&amp; it's</b>"}}`, typ, iEvent, account)
}

func wrongPassword(t testing.TB) sign.Signer {
	c := basic
	c.Passwords = []string{"not-the-password"}
	au, err := sign.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return au
}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func chromium(t testing.TB) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("headless Chromium is not installed (apt-get install chromium): the inspector is not driven in a browser")
	return ""
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
