package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/testutil"
)

// The secrets of TestSecretsNeverWritten: each one distinctive, so that a
// hit anywhere is a leak. The "wrong" ones are what a misconfigured sender
// sends: they are secrets too (another environment's, a typo of the real
// one).
const (
	secPassword    = "Pw7-Basic-S3cret"
	secWrongPw     = "Wr0ng-Basic-S3cret"
	secCustom      = "Cust9-Plain-S3cret"
	secWrongCustom = "Wr0ng-Cust-S3cret"
	secHMAC        = "Hmac4-Key-S3cret"
	secWrongHMAC   = "Wr0ng-Hmac-S3cret"
	secBearer      = "Bear5-Key-S3cret"
	secWrongBearer = "Wr0ng-Bear-S3cret"
	secAPIToken    = "Api6-Token-S3cret"
	secWrongAPI    = "Wr0ng-Api-S3cret"
	secURLPassword = "Url8-Pass-S3cret"
)

// secretNeedles are the strings no output may contain: every secret, and
// the Basic header values that carry one (base64 of user:password).
func secretNeedles() map[string]string {
	n := map[string]string{}
	for _, s := range []string{secPassword, secWrongPw, secCustom, secWrongCustom, secHMAC, secWrongHMAC,
		secBearer, secWrongBearer, secAPIToken, secWrongAPI, secURLPassword} {
		n[s] = s
	}
	for _, pair := range []string{"pb:" + secPassword, "pb:" + secWrongPw, "pb:" + secURLPassword} {
		b := base64.StdEncoding.EncodeToString([]byte(pair))
		n[b] = "Basic value of " + pair
		n[strings.TrimRight(b, "=")] = "Basic value of " + pair
	}
	return n
}

// jwtLike finds JSON Web Tokens; one that verifies with a real bearer key
// is a credential (valid until it expires), wherever it is written.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// outputs collects everything the commands print, by name.
type outputs struct {
	mu sync.Mutex
	m  map[string]string
}

func (o *outputs) add(name, text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[string]string{}
	}
	for k := 2; ; k++ {
		if _, dup := o.m[name]; !dup {
			break
		}
		name = fmt.Sprintf("%s #%d", strings.TrimSuffix(name, fmt.Sprintf(" #%d", k-1)), k)
	}
	o.m[name] = text
}

// cli runs espfctl in-process and records its streams under name.
func (o *outputs) cli(t *testing.T, name string, want int, args ...string) (string, string) {
	t.Helper()
	ios, out, errb := testutil.IO()
	code := run(t.Context(), args, ios)
	o.add(name+" stdout", out.String())
	o.add(name+" stderr", errb.String())
	if want >= 0 && code != want {
		t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", name, code, want, out, errb)
	}
	return out.String(), errb.String()
}

// inServe is one espfctl serve running in-process.
type inServe struct {
	addr, admin string
	out, err    *lockedBuffer
	stop        func()
}

var adminLine = regexp.MustCompile(`admin on http://(\S+) `)

func startInServe(t *testing.T, args ...string) *inServe {
	t.Helper()
	s := &inServe{out: &lockedBuffer{}, err: &lockedBuffer{}}
	ready := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	ios := &term.IO{In: strings.NewReader(""), Out: s.out, Err: s.err}
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--ready-file", ready}, args...), ios)
	}()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			if code := <-done; code != exitOK {
				t.Errorf("serve %v: exit %d: %s", args, code, s.err)
			}
		})
	}
	t.Cleanup(s.stop)
	s.addr = waitReady(t, ready, done, s.err.String)
	if m := adminLine.FindStringSubmatch(s.err.String()); m != nil {
		s.admin = m[1]
	}
	return s
}

// get fetches an admin URL and records the answer.
func (o *outputs) get(t *testing.T, name, u string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Errorf("GET %s: %v", u, err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	o.add(name, string(b))
}

// brokenApp is an Application that checks no credentials and fails DID
// events: check's authorization cases fail (a forgery is accepted), with
// reproducers, and so does 1/did.
func brokenApp(t *testing.T) *httptest.Server {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if ev, err := event.Decode(b); err == nil && ev.Type == "DID/Created" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(app.Close)
	return app
}

// withUserInfo puts user:password@ into an http URL.
func withUserInfo(raw, password string) string {
	return strings.Replace(raw, "http://", "http://pb:"+url.PathEscape(password)+"@", 1)
}

// TestSecretsNeverWritten runs a scenario (built-in receiver, a wrong
// password on purpose, faults, the ESPF API mock; a target URL with
// user:password@), send (delivered, refused with wrong credentials, gave
// up; URLs with user:password@; the API mock called with a right and a
// wrong token), serve with a journal for every scheme (text and --json
// lines, the admin endpoints), journal (table, --json, --raw, --rejected, --copies),
// check against a broken Application for every scheme (text with curl
// reproducers, --json, --junit) and verify's mismatch explanations, all with
// distinctive secrets, and searches every output stream and every file
// written (results, reports, JUnit, HTML, the journal's database) for each
// secret, the Basic values that carry them, and bearer tokens signed with a
// real key: there must be none. sign's own output is not searched: printing
// the header is its job.
func TestSecretsNeverWritten(t *testing.T) {
	t.Parallel()
	in, out := t.TempDir(), t.TempDir() // inputs hold secrets; outputs must not
	o := &outputs{}
	writeFile(t, filepath.Join(in, "pw.txt"), secPassword+"\n")
	writeFile(t, filepath.Join(in, "hmac.txt"), secHMAC+"\n")
	o2 := func(name string) string { return filepath.Join(out, name) }

	// serve, one per scheme, each with a file journal; basic writes --json
	// lines; one more stands in front of a broken Application, and one in
	// front of an Application that is not there
	broken := brokenApp(t)
	serves := map[string]*inServe{
		"forward":   startInServe(t, "--auth", "custom", "--scheme", "Plain", "--credentials", secCustom, "--journal", o2("forward.db"), "--forward-to", broken.URL+"/app"),
		"gone":      startInServe(t, "--auth", "custom", "--scheme", "Plain", "--credentials", secCustom, "--journal", o2("gone.db"), "--forward-to", "http://127.0.0.1:1/app"),
		"basic":     startInServe(t, "--auth", "basic", "--user", "pb", "--password-file", filepath.Join(in, "pw.txt"), "--journal", o2("basic.db"), "--json"),
		"custom":    startInServe(t, "--auth", "custom", "--scheme", "Plain", "--credentials", secCustom, "--journal", o2("custom.db")),
		"signature": startInServe(t, "--auth", "signature", "--key-id", "pb", "--key-file", filepath.Join(in, "hmac.txt"), "--journal", o2("signature.db")),
		"bearer":    startInServe(t, "--auth", "bearer", "--key", secBearer, "--i-env", "3", "--journal", o2("bearer.db"), "--fail-first", "1"),
	}
	right := map[string][]string{
		"basic":     {"--auth", "basic", "--user", "pb", "--password", secPassword},
		"custom":    {"--auth", "custom", "--scheme", "Plain", "--credentials", secCustom},
		"signature": {"--auth", "signature", "--key-id", "pb", "--key", secHMAC},
		"bearer":    {"--auth", "bearer", "--key", secBearer, "--i-env", "3"},
	}
	wrong := map[string][]string{
		"basic":     {"--auth", "basic", "--user", "pb", "--password", secWrongPw},
		"custom":    {"--auth", "custom", "--scheme", "Plain", "--credentials", secWrongCustom},
		"signature": {"--auth", "signature", "--key-id", "pb", "--key", secWrongHMAC},
		"bearer":    {"--auth", "bearer", "--key", secWrongBearer, "--i-env", "3"},
	}
	schemes := []string{"basic", "custom", "signature", "bearer"}
	quick := []string{"--rate", "100/s", "--retry-interval", "10ms", "--no-progress"}

	// send: delivered, refused, with user-info in the URL, results written
	for _, sc := range schemes {
		u := "http://" + serves[sc].addr + "/espf"
		args := append(append([]string{"send", "--url", withUserInfo(u, secURLPassword), "--count", "3", "--results", o2("send-ok-" + sc + ".jsonl")}, quick...), right[sc]...)
		o.cli(t, "send ok "+sc, exitOK, args...)
		args = append(append([]string{"send", "--url", u, "--count", "2", "--json", "--results", o2("send-wrong-" + sc + ".jsonl")}, quick...), wrong[sc]...)
		o.cli(t, "send wrong "+sc, exitFailed, args...)
	}
	for _, sc := range []string{"forward", "gone"} {
		o.cli(t, "send "+sc, exitFailed, append(append([]string{"send", "--url", "http://" + serves[sc].addr + "/", "--count", "2", "--max-attempts", "2",
			"--type", "DID/Created"}, quick...), right["custom"]...)...)
	}
	o.cli(t, "check forward", exitFailed, append([]string{"check", "--url", "http://" + serves["forward"].addr + "/", "--soak", "0"}, right["custom"]...)...)
	// a sender whose credentials are first in the header (custom, scheme name last)
	o.cli(t, "send credential first", exitFailed, append([]string{"send", "--url", "http://" + serves["custom"].addr + "/",
		"--count", "1", "--auth", "custom", "--scheme", secWrongCustom, "--credentials", "Plain"}, quick...)...)
	// nothing listens: gave up, the URL's password in no error
	o.cli(t, "send unreachable", exitError, append(append([]string{"send", "--url", withUserInfo("http://127.0.0.1:1/espf", secURLPassword),
		"--count", "1", "--max-attempts", "2", "--results", o2("send-gaveup.jsonl")}, quick...), right["basic"]...)...)
	o.cli(t, "send bad url", exitUsage, append([]string{"send", "--url", withUserInfo("http://127.0.0.1:bad/", secURLPassword), "--count", "1"}, right["basic"]...)...)
	// serve: a --forward-to with user-info, well-formed or not
	o.cli(t, "serve forward-to bad url", exitUsage, "serve", "--listen", "127.0.0.1:0", "--auth", "basic", "--user", "pb", "--password", secPassword,
		"--forward-to", withUserInfo("http://127.0.0.1:bad/", secURLPassword))
	o.cli(t, "serve forward-to user-info", exitUsage, "serve", "--listen", "127.0.0.1:0", "--auth", "basic", "--user", "pb", "--password", secPassword,
		"--forward-to", withUserInfo("http://127.0.0.1:1/", secURLPassword))
	o.cli(t, "send user with password", exitUsage, "send", "--url", "http://127.0.0.1:1/", "--auth", "basic", "--user", "pb:"+secPassword, "--password", "x")
	o.cli(t, "send bad -H", exitUsage, "send", "--url", "http://127.0.0.1:1/", "--auth", "basic", "--user", "pb", "--password", "x",
		"-H", "Authorization Bearer "+secWrongBearer)

	// send with the ESPF API mock: called with the right token and a wrong one
	api := freeAddr(t)
	apiDone, sendDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(apiDone)
		for ; ; time.Sleep(10 * time.Millisecond) { // until the mock listens, or send is over
			c, err := net.Dial("tcp", api)
			if err != nil {
				select {
				case <-sendDone:
					return
				default:
					continue
				}
			}
			c.Close()
			for _, tok := range []string{secAPIToken, secWrongAPI} {
				req, _ := http.NewRequest(http.MethodPost, "http://"+api+"/espf/v1/account/i/1000001/status",
					strings.NewReader(url.Values{"status": {"OK"}, "group": {"HSS"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "Bearer "+tok)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					o.add("api mock answer", string(b))
				}
			}
			return
		}
	}()
	o.cli(t, "send api", -1, append(append([]string{"send", "--url", "http://" + serves["basic"].addr + "/", "--count", "2",
		"--api-listen", api, "--api-token", secAPIToken, "--api-wait", "2s"}, quick...), right["basic"]...)...)
	close(sendDone)
	<-apiDone

	// check: against serve (passes) and a broken Application (fails, with
	// reproducers), every scheme, text, --json and --junit
	for _, sc := range schemes {
		o.cli(t, "check serve "+sc, -1, append(append([]string{"check", "--url", withUserInfo("http://"+serves[sc].addr+"/", secURLPassword),
			"--soak", "0", "--junit", o2("check-serve-" + sc + ".xml")}, right[sc]...), "1", "3")...)
		stdout, _ := o.cli(t, "check broken "+sc, exitFailed, append([]string{"check", "--url", withUserInfo(broken.URL+"/", secURLPassword),
			"--soak", "0", "--junit", o2("check-broken-" + sc + ".xml")}, right[sc]...)...)
		if !strings.Contains(stdout, "# reproduce ") {
			t.Errorf("check %s against a broken Application printed no reproducer:\n%s", sc, stdout)
		}
		o.cli(t, "check broken json "+sc, exitFailed, append([]string{"check", "--url", broken.URL + "/", "--soak", "0", "--json"}, right[sc]...)...)
	}
	o.cli(t, "check unreachable", exitError, append([]string{"check", "--url", withUserInfo("http://127.0.0.1:1/", secURLPassword), "--json",
		"--junit", o2("check-unreachable.xml")}, right["basic"]...)...)

	// verify: each scheme's header signed with the wrong secret, checked
	// against the right one, and the other way round
	date := "Thu, 12 Apr 2018 15:24:00 GMT"
	signed := func(args ...string) string { // sign's own output is the header: not searched
		ios, sout, serr := testutil.IO()
		if code := run(t.Context(), append([]string{"sign"}, args...), ios); code != exitOK {
			t.Fatalf("sign %v: exit %d: %s", args, code, serr)
		}
		return strings.TrimSpace(sout.String())
	}
	headers := map[string][2]string{ // scheme -> signed with the wrong secret, with the right one
		"basic":     {signed("basic", "--user", "pb", "--password", secWrongPw), signed("basic", "--user", "pb", "--password", secPassword)},
		"custom":    {signed("custom", "--scheme", "Plain", "--credentials", secWrongCustom), "Plain " + secCustom},
		"signature": {signed("signature", "--key-id", "pb", "--key", secWrongHMAC, "--date", date), signed("signature", "--key-id", "pb", "--key", secHMAC, "--date", date)},
		"bearer":    {signed("bearer", "--key", secWrongBearer, "--i-env", "3", "--exp", "4102444800"), signed("bearer", "--key", secBearer, "--i-env", "3", "--exp", "4102444800")},
	}
	flags := func(sc string, secret bool) []string {
		f := map[string][]string{
			"basic":     {"--user", "pb", "--password", map[bool]string{true: secPassword, false: secWrongPw}[secret]},
			"custom":    {"--scheme", "Plain", "--credentials", map[bool]string{true: secCustom, false: secWrongCustom}[secret]},
			"signature": {"--key-id", "pb", "--key", map[bool]string{true: secHMAC, false: secWrongHMAC}[secret], "--date", date, "--now", "1523546640"},
			"bearer":    {"--key", map[bool]string{true: secBearer, false: secWrongBearer}[secret], "--i-env", "3", "--now", "1560340000"},
		}
		return f[sc]
	}
	for _, sc := range schemes {
		for _, asJSON := range []string{"--json=false", "--json"} {
			o.cli(t, "verify wrong header "+sc, exitFailed, append([]string{"verify", asJSON, "--authorization", headers[sc][0]}, flags(sc, true)...)...)
			o.cli(t, "verify wrong secret "+sc, exitFailed, append([]string{"verify", asJSON, "--authorization", headers[sc][1]}, flags(sc, false)...)...)
		}
	}
	o.cli(t, "verify credential first", exitFailed, "verify", "--authorization", secWrongCustom+" Plain", "--scheme", "Plain", "--credentials", secCustom)

	// run: scenarios with the built-in receiver (a wrong password on
	// purpose, faults, the API mock) and one against serve with user-info
	writeFile(t, filepath.Join(in, "wrong-password.yaml"), `version: 1
name: wrong-password
auth: {scheme: basic, user: pb, password: [`+secPassword+`, `+secURLPassword+`]}
receiver: {auth: {scheme: basic, user: pb, password: `+secWrongPw+`}}
phases: [{rate: 100/s, count: 3}]
delivery: {max_attempts: 2, retry_interval: 10ms}
expect: {delivered: 100%}
`)
	writeFile(t, filepath.Join(in, "faults.yaml"), `version: 1
name: faults
auth: {scheme: signature, key_id: pb, key: `+secHMAC+`}
receiver:
  faults: {fail_first: 1, reset_rate: 0.2, seed: 3}
phases: [{name: warm, rate: 100/s, count: 4}, {name: burst, rate: 200/s, count: 4}]
delivery: {retry_interval: 10ms, timeout: 2s}
expect: {delivered: 100%, delivered_first_try: 100%}
`)
	writeFile(t, filepath.Join(in, "api.yaml"), `version: 1
name: api
auth: {scheme: bearer, key: `+secBearer+`, i_env: 3}
events: {types: [Subscriber/Created], ids: 2000000-2000999}
receiver: {report_status: {status: OK, group: HSS, delay: 5ms}}
api: {token: `+secAPIToken+`, wait: 1h}
phases: [{rate: 100/s, count: 3}]
expect: {delivered: 100%, statuses: 100%}
`)
	writeFile(t, filepath.Join(in, "custom-wrong.yaml"), `version: 1
name: custom-wrong
auth: {scheme: custom, name: Plain, credentials: `+secWrongCustom+`}
receiver: {auth: {scheme: custom, name: Plain, credentials: `+secCustom+`}}
phases: [{rate: 100/s, count: 2}]
expect: {delivered: 100%}
`)
	writeFile(t, filepath.Join(in, "target.yaml"), `version: 1
name: target
target: {url: "`+withUserInfo("http://"+serves["basic"].addr+"/espf", secURLPassword)+`"}
auth: {scheme: basic, user: pb, password: `+secWrongPw+`}
phases: [{rate: 100/s, count: 2}]
expect: {delivered: 100%}
`)
	for name, want := range map[string]int{"wrong-password": exitFailed, "faults": exitFailed, "api": exitOK, "custom-wrong": exitFailed, "target": exitFailed} {
		rf := func(ext string) string { return o2("run-" + name + ext) }
		o.cli(t, "run "+name, want, "run", "--no-progress", "--report-json", rf(".json"), "--junit", rf(".xml"), "--html", rf(".html"),
			"--results", rf(".jsonl"), filepath.Join(in, name+".yaml"))
		o.cli(t, "run json "+name, want, "run", "--no-progress", "--json", filepath.Join(in, name+".yaml"))
		o.cli(t, "report "+name, -1, "report", rf(".jsonl"))
		o.cli(t, "report json "+name, -1, "report", "--json", rf(".jsonl"))
	}

	// serve's admin side, then stop it and read the journals
	all := append([]string{"forward", "gone"}, schemes...)
	for _, sc := range all {
		s := serves[sc]
		for _, p := range []string{"/events", "/rejections", "/metrics", "/healthz"} {
			o.get(t, "serve "+sc+" admin "+p, "http://"+s.admin+p)
		}
	}
	for _, sc := range all {
		s := serves[sc]
		s.stop()
		o.add("serve "+sc+" stdout", s.out.String())
		o.add("serve "+sc+" stderr", s.err.String())
		db := o2(sc + ".db")
		for _, extra := range [][]string{{}, {"--json"}, {"--raw"}, {"--rejected"}, {"--rejected", "--json"}, {"--rejected", "--raw"},
			{"--copies"}, {"--copies", "--json"}, {"--copies", "--raw"}} {
			o.cli(t, "journal "+sc+" "+strings.Join(extra, " "), exitOK, append([]string{"journal", db}, extra...)...)
		}
	}
	if !strings.Contains(o.m["journal gone --rejected stdout"], "502") {
		t.Errorf("journal --rejected lists no 502 from an Application that is not there:\n%s", o.m["journal gone --rejected stdout"])
	}
	if !strings.Contains(o.m["journal basic --rejected stdout"], "401") {
		t.Errorf("journal --rejected lists no 401: the wrong credentials were not refused:\n%s", o.m["journal basic --rejected stdout"])
	}

	// every file written
	err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		o.add("file "+filepath.Base(path), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// the search; ESPFCTL_SECRETS_DUMP=DIR keeps what was searched
	if dump := os.Getenv("ESPFCTL_SECRETS_DUMP"); dump != "" {
		for name, text := range o.m {
			_ = os.WriteFile(filepath.Join(dump, strings.NewReplacer("/", "_", " ", "_").Replace(name)), []byte(text), 0o644)
		}
	}
	keys := map[string]string{"bearer key": secBearer, "wrong bearer key": secWrongBearer}
	names := make([]string, 0, len(o.m))
	for n := range o.m {
		names = append(names, n)
	}
	sort.Strings(names)
	searched := 0
	for _, name := range names {
		text := o.m[name]
		searched += len(text)
		for needle, what := range secretNeedles() {
			if i := strings.Index(text, needle); i >= 0 {
				t.Errorf("%s holds %s: …%s…", name, what, context80(text, i, len(needle)))
			}
		}
		for _, tok := range jwtLike.FindAllString(text, -1) {
			for kname, key := range keys {
				au, err := sign.New(sign.Config{Scheme: sign.SchemeBearer, Keys: []string{key}})
				if err != nil {
					t.Fatal(err)
				}
				h := http.Header{"Authorization": {"Bearer " + tok}}
				if res := au.Explain(h, nil, time.Unix(1560340000, 0)); tokenSigned(res) {
					t.Errorf("%s holds a bearer token signed with the %s: %s", name, kname, tok)
				}
			}
		}
	}
	t.Logf("searched %d outputs and files, %d bytes, for %d secrets", len(o.m), searched, len(secretNeedles()))
}

// tokenSigned reports whether a bearer check found the token's signature
// valid (expired or not).
func tokenSigned(r *sign.Result) bool {
	for _, c := range r.Checks {
		if c.Name == "token_signature" && c.OK {
			return true
		}
	}
	return false
}

func context80(s string, i, n int) string {
	lo, hi := max(i-40, 0), min(i+n+40, len(s))
	return strings.ReplaceAll(s[lo:hi], "\n", `\n`)
}
