package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/schema"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/espfctl/espfctl/internal/verify"
)

// checkSecret is the custom credentials of these tests; it must never be
// printed.
const checkSecret = "c7-Plain-s3cret"

func checkArgs(url string, extra ...string) []string {
	// --slow 1h: the p99 bound is the load tests' (synctest); a loaded
	// machine must not change these verdicts
	return append([]string{"check", "--url", url, "--auth", "custom", "--scheme", "Plain", "--credentials", checkSecret, "--soak", "0", "--slow", "1h"}, extra...)
}

// referenceApp serves espfctl serve's handler for the custom credentials.
func referenceApp(t *testing.T) *httptest.Server {
	t.Helper()
	au, err := sign.New(sign.Config{Scheme: sign.SchemeCustom, Name: "Plain", Credentials: []string{checkSecret}})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := verify.NewReceiver(verify.Config{Auth: au})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return srv
}

// checkRuns is what `check` runs for scheme with these selection arguments
// and no --state-url or --restart-cmd: the cases, in running order.
func checkRuns(t *testing.T, scheme string, args ...string) []check.Case {
	t.Helper()
	cs, err := check.Select(check.Cases(), scheme, args)
	if err != nil {
		t.Fatal(err)
	}
	return check.WithoutRestart(check.WithoutState(cs, args), args)
}

// referenceGrade is the grade the reference Application (espfctl serve's
// handler) gets on case c with --soak 0: it passes every case but the ones
// about the transport, over plain http to loopback (1/https and the TLS
// cases skip: nothing crosses a network), and 2/soak, which --soak 0 turns off.
func referenceGrade(c check.Case, overTLS bool) check.Grade {
	switch {
	case c.ID == "2/soak":
		return check.Skip
	case !overTLS && c.ID == "1/https":
		return check.Skip
	case !overTLS && strings.HasPrefix(c.ID, "1/tls-"):
		return check.Skip
	}
	return check.Pass
}

// referenceTotals is check's summary line for the reference Application
// on cs: the tally of referenceGrade, which adds up to the cases run.
func referenceTotals(cs []check.Case, overTLS bool) string {
	var n check.Counts
	for _, c := range cs {
		switch referenceGrade(c, overTLS) {
		case check.Pass:
			n.Pass++
		case check.Warn:
			n.Warn++
		case check.Skip:
			n.Skip++
		}
	}
	return n.String()
}

// TestCheckExitCodes: 0 when no case fails against the reference
// Application, 1 when one fails (or warns, with --strict), 2 on usage
// errors, 3 when nothing answers.
func TestCheckExitCodes(t *testing.T) {
	t.Parallel()
	good := referenceApp(t)
	noContent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(noContent.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/"
	ln.Close()

	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"reference passes", checkArgs(good.URL), exitOK, "pass\t2/exact-200\t200 OK\texactly 200\tdelivered: removed from the ESPF queue\n",
			referenceTotals(checkRuns(t, sign.SchemeCustom), false)},
		{"positional selection", checkArgs(good.URL, "3", "2/duplicate"), exitOK, "pass\t3.custom/other-scheme-name\t401 Unauthorized\t",
			referenceTotals(checkRuns(t, sign.SchemeCustom, "3", "2/duplicate"), false)},
		{"--strict passes the reference over http to loopback", checkArgs(good.URL, "--strict", "1"), exitOK,
			"skip\t1/https\t-\t", "0 warned, 0 failed"},
		{"--strict fails plain http to a network host", checkArgs("http://espf.example:8080/espf", "--strict", "1/https"), exitFailed,
			"FAIL\t1/https\t-\t", "1 of 1 cases failed"},
		{"204 fails", checkArgs(noContent.URL, "2/exact-200"), exitFailed,
			"FAIL\t2/exact-200\t204 No Content\texactly 200\tanswered 204, not 200: the documented example event is re-sent for ever", "1 of 1 cases failed"},
		{"wrong credentials stop the run", []string{"check", "--url", good.URL, "--auth", "custom", "--scheme", "Plain", "--credentials", "nope", "--only", "2/exact-200"}, exitFailed,
			"", `with the configured custom credentials (scheme name "Plain" and its credentials) was answered 401 Unauthorized (the Application said: "unauthorized"). ` +
				"Are these the credentials the Application expects? (--auth custom, --scheme, --credentials, --header-name). Nothing else was graded"},
		{"no url", []string{"check", "--auth", "basic", "--user", "u", "--password", "p"}, exitUsage, "", "--url is required"},
		{"no auth", []string{"check", "--url", good.URL}, exitUsage, "", "--auth is required"},
		{"unknown case", checkArgs(good.URL, "--only", "2/exact-200,deliver"), exitUsage, "", `no case matches "deliver"`},
		{"unknown section", checkArgs(good.URL, "4"), exitUsage, "", `no case matches "4": want a case ID such as 3.bearer/alg-none, or a section such as 1, 2, 3.basic`},
		{"bad --copies", checkArgs(good.URL, "--copies", "0"), exitUsage, "", "--copies 0: want 1 to 1000"},
		{"bad --soak", checkArgs(good.URL, "--soak", "-1s"), exitUsage, "", "--soak -1s: must not be negative"},
		{"--list with an unknown scheme", []string{"check", "--list", "--auth", "rsa"}, exitUsage, "", `--auth "rsa": want one of basic, custom, signature, bearer`},
		{"refused", checkArgs(refused), exitError, "FAIL\t1/subscriber\trefused\t", "the Application could not be reached: 1 request to " + refused + ", none answered (refused)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, out, errb := testutil.IO()
			if code := run(t.Context(), tt.args, ios); code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errb)
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant %q and %q", out, errb, tt.stdout, tt.stderr)
			}
			if strings.Contains(out.String()+errb.String(), checkSecret) {
				t.Errorf("the secret appears in the output")
			}
		})
	}
}

// selected is how many cases check.Select picks for scheme and args: what
// --list prints, one line each.
func selected(t *testing.T, scheme string, args ...string) int {
	t.Helper()
	cs, err := check.Select(check.Cases(), scheme, args)
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// TestCheckList: --list prints every case without sending anything (no
// --url needed); --auth keeps one scheme's; arguments select; --json is
// the cases as an array.
func TestCheckList(t *testing.T) {
	t.Parallel()
	all := len(check.Cases())
	for _, tt := range []struct {
		args  []string
		lines int
		want  string
	}{
		{[]string{"check", "--list"}, all, "3.bearer/alg-none\ta token with the header {\"alg\":\"none\"} and no signature\t401 or 403 (another 4xx warns)\t"},
		{[]string{"check", "--list", "--auth", "basic"}, selected(t, sign.SchemeBasic), "3.basic/wrong-user\t"},
		{[]string{"check", "--list", "3.bearer", "2/dup"}, selected(t, "", "3.bearer", "2/dup"), "2/duplicate-concurrent\t--copies copies (default 10) of one new event at the same time\t"},
	} {
		ios, out, errb := testutil.IO()
		if code := run(t.Context(), tt.args, ios); code != exitOK {
			t.Fatalf("%q: exit %d: %s", tt.args, code, errb)
		}
		if n := strings.Count(out.String(), "\n"); n != tt.lines || !strings.Contains(out.String(), tt.want) {
			t.Errorf("%q: %d lines, want %d with %q:\n%s", tt.args, n, tt.lines, tt.want, out)
		}
	}
	ios, out, _ := testutil.IO()
	if code := run(t.Context(), []string{"check", "--list", "--json"}, ios); code != exitOK {
		t.Fatalf("--list --json: exit %d", code)
	}
	var cases []map[string]any
	if err := json.Unmarshal(out.Bytes(), &cases); err != nil || len(cases) != all {
		t.Fatalf("--list --json: %d cases (%v), want %d", len(cases), err, all)
	}
	if c := cases[0]; c["schema_version"] != float64(schema.Version) || c["id"] != "1/https" || c["section"] != "1" ||
		c["sends"] == "" || c["passes"] == "" || c["why"] == "" {
		t.Errorf("first case %v, want schema_version, id, section, sends, passes, why", c)
	}
}

// TestCheckTerminal: on a terminal the list and the results fit the
// width (80 here): long text wraps under its column, nothing is cut but
// the answer; the summary has a row per section.
func TestCheckTerminal(t *testing.T) {
	t.Setenv("COLUMNS", "80")
	good := referenceApp(t)
	for _, args := range [][]string{{"check", "--list"}, checkArgs(good.URL, "1/https", "1/over-1mib", "2", "7")} {
		ios, out, errb := testutil.IO()
		ios.IsTTY = true
		if code := run(t.Context(), args, ios); code != exitOK {
			t.Fatalf("%q: exit %d: %s", args, code, errb)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n := utf8.RuneCountInString(sc.Text()); n > 80 {
				t.Errorf("%q: a line of %d columns: %q", args, n, sc.Text())
			}
		}
	}
	ios, out, _ := testutil.IO()
	ios.IsTTY = true
	run(t.Context(), checkArgs(good.URL, "1/https", "2/exact-200"), ios)
	for _, want := range []string{
		"RESULT  CASE         ANSWER              CONSEQUENCE\n",
		"skip    1/https      -                   plain http:// to a loopback address:\n" +
			"                                         nothing crosses a network here (the\n",
		"pass    2/exact-200  200 OK              delivered: removed from the ESPF queue\n",
		"SECTION  PASS  WARN  FAIL  SKIP  TITLE\n1           0     0     0     1  The delivery request\n",
		"total       1     0     0     1\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("terminal output:\n%s\nwant:\n%s", out, want)
		}
	}
}

// TestCheckJSONAndJUnit: --json is one object with every case, a curl
// reproducer on each failure and counts per section; --junit has one
// testcase per case with the section as classname; a warning is not a
// failure, a skip is skipped.
func TestCheckJSONAndJUnit(t *testing.T) {
	t.Parallel()
	// accepts everything with 200: the authorization cases fail, the
	// malformed bodies warn
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	t.Cleanup(srv.Close)
	junit := filepath.Join(t.TempDir(), "check.xml")
	ios, out, errb := testutil.IO()
	if code := run(t.Context(), checkArgs(srv.URL, "--json", "--junit", junit), ios); code != exitFailed {
		t.Fatalf("exit %d, want %d: %s", code, exitFailed, errb)
	}
	var rep report.CheckReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	runs := checkRuns(t, sign.SchemeCustom)
	if got, want := checkIDs(rep.Checks), check.IDs(runs); !slices.Equal(got, want) {
		t.Fatalf("--json has the cases %q, want every case run, in order: %q", got, want)
	}
	var tally check.Counts
	grades := map[check.Grade][]string{}
	for _, r := range rep.Checks {
		grades[r.Grade] = append(grades[r.Grade], r.ID)
		tallyGrade(&tally, r.Grade)
		wantSkip := r.ID == "2/soak" || strings.HasPrefix(r.ID, "1/tls-") || r.ID == "1/https" // --soak 0; plain http to loopback
		if (r.Grade == check.Skip) != wantSkip {
			t.Errorf("%s: %s, want a skip exactly for the TLS cases and the soak", r.ID, r.Grade)
		}
		if r.Section == "3.custom" && r.Grade != check.Fail { // it accepts any credentials
			t.Errorf("%s: %s, want a failure: the Application accepts wrong credentials", r.ID, r.Grade)
		}
	}
	if rep.Counts != tally || tally.Pass+tally.Warn+tally.Fail+tally.Skip != len(runs) {
		t.Errorf("counts %+v, want the tally of the %d cases' grades %+v", rep.Counts, len(runs), tally)
	}
	for _, id := range []string{"1/not-json"} { // a body that is no event, accepted
		if !slices.Contains(grades[check.Warn], id) {
			t.Errorf("warnings %q, want %s among them", grades[check.Warn], id)
		}
	}
	// one row per section run, in the sections' order, each the tally of
	// its cases, together the whole
	var order []string
	for _, sc := range check.Sections() {
		order = append(order, sc.ID)
	}
	var sum check.Counts
	last := -1
	for _, sc := range rep.Sections {
		var in check.Counts
		for _, r := range rep.Checks {
			if r.Section == sc.Section {
				tallyGrade(&in, r.Grade)
			}
		}
		if i := slices.Index(order, sc.Section); i <= last || sc.Counts != in || sc.Title != check.SectionTitle(sc.Section) {
			t.Errorf("section %+v: want a known section, in order, with its title and the tally of its cases %+v", sc, in)
		} else {
			last = i
		}
		sum.Pass, sum.Warn, sum.Fail, sum.Skip = sum.Pass+in.Pass, sum.Warn+in.Warn, sum.Fail+in.Fail, sum.Skip+in.Skip
	}
	ran := map[string]bool{}
	for _, c := range runs {
		ran[c.Section] = true
	}
	if sum != tally || len(rep.Sections) != len(ran) {
		t.Errorf("%d sections adding up to %+v, want one for each of the %d sections run, adding up to %+v", len(rep.Sections), sum, len(ran), tally)
	}
	for _, r := range rep.Checks {
		if (r.Grade == check.Fail) != (r.Curl != "") {
			t.Errorf("%s: %s with curl %q: want a reproducer exactly on failures", r.ID, r.Grade, r.Curl)
		}
		if r.Grade == check.Fail && !strings.Contains(r.Curl, "curl -sS -i '"+srv.URL+"'") {
			t.Errorf("%s: reproducer %q does not POST to the URL", r.ID, r.Curl)
		}
	}
	if strings.Contains(out.String()+errb.String(), checkSecret) {
		t.Errorf("the secret appears in the output")
	}
	raw, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	b := string(raw)
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Failure   *struct {
					Text string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(b), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != len(runs) || doc.Failures != tally.Fail || doc.Skipped != tally.Skip || tally.Fail == 0 || tally.Warn == 0 {
		t.Errorf("junit: %d tests, %d failures, %d skipped; want %d, %d, %d (warnings pass)", doc.Tests, doc.Failures, doc.Skipped, len(runs), tally.Fail, tally.Skip)
	}
	for _, c := range doc.Suites[0].Cases {
		if !strings.HasPrefix(c.Name, c.Classname+"/") {
			t.Errorf("testcase %q has classname %q, want its section", c.Name, c.Classname)
		}
		if c.Failure != nil && !strings.Contains(c.Failure.Text, "reproduce:\n") {
			t.Errorf("failure of %s without its reproducer: %q", c.Name, c.Failure.Text)
		}
	}
	if strings.Contains(b, checkSecret) {
		t.Errorf("the secret appears in the JUnit file")
	}
}

// TestCheckTLS: --ca-file trusts serve's self-signed certificate and every
// case passes over https; without it every request fails the TLS
// handshake with its x509 reason: unreachable, exit 3.
func TestCheckTLS(t *testing.T) {
	t.Parallel()
	cert, _, err := verify.SelfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(referenceApp(t).Config.Handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshakes fail on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})))
	for _, tt := range []struct {
		name           string
		extra          []string
		code           int
		stdout, stderr string
	}{
		{"trusted", []string{"--ca-file", ca}, exitOK, "pass\t1/tls-certificate\tvalid\t", referenceTotals(checkRuns(t, sign.SchemeCustom), true)},
		{"untrusted", nil, exitError, "FAIL\t1/tls-certificate\ttls\t", "none answered (tls: x509: certificate signed by unknown authority)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, out, errb := testutil.IO()
			if code := run(t.Context(), checkArgs(srv.URL, tt.extra...), ios); code != tt.code {
				t.Fatalf("exit %d, want %d: %s\n%s", code, tt.code, errb, out)
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant %q and %q", out, errb, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestCheckInterrupted: an interrupt during a case prints the cases done
// so far and exits 130.
func TestCheckInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client going away
		if n.Add(1) == 2 {
			cancel() // the second request: as if ^C was pressed while it was in flight
			<-r.Context().Done()
			return
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	ios, out, errb := testutil.IO()
	if code := run(ctx, checkArgs(srv.URL), ios); code != exitInterrupted {
		t.Fatalf("exit %d, want %d: %s", code, exitInterrupted, errb)
	}
	if !strings.Contains(out.String(), "pass\t1/subscriber\t") || !strings.Contains(errb.String(), "check interrupted after 4 cases") {
		t.Errorf("stdout:\n%s\nstderr:\n%s\nwant 1/subscriber and the interruption", out, errb)
	}
	if !strings.Contains(out.String(), "section 1\t1 passed, 0 warned, 0 failed, 3 skipped") {
		t.Errorf("stdout:\n%s\nwant the summary of the cases done", out)
	}
}

// TestCheckNoMaxSkew: check is a sender and bounds no Date, and its Date
// cases are a fixed hour off, so it takes no --max-skew: giving it is a
// usage error that says why and where the bound belongs, before anything
// is sent; --help says so and does not list the flag.
func TestCheckNoMaxSkew(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	for _, args := range [][]string{
		{"check", "--url", srv.URL, "--auth", "signature", "--key-id", "test", "--key", "s3cret", "--max-skew", "1m", "3.signature"},
		{"check", "--url", srv.URL, "--auth", "bearer", "--key", "s3cret", "--max-skew=0", "3.bearer/expired"},
	} {
		ios, out, errb := testutil.IO()
		if code := run(t.Context(), args, ios); code != exitUsage {
			t.Fatalf("%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, exitUsage, out, errb)
		}
		want := "espfctl: unknown flag: --max-skew: check is the sender and bounds no Date (the bound is the receiver's: serve --max-skew, verify --max-skew); " +
			"3.signature/date-hour-old, 3.signature/date-future and 3.bearer/expired are one hour off, beyond any usual bound\n"
		if errb.String() != want || out.Len() != 0 {
			t.Errorf("%q:\nstdout:\n%s\nstderr:\n%s\nwant stderr:\n%s", args, out, errb, want)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
	// send signs as the ESPF too, and refuses the flag the same way.
	ios, out, errb := testutil.IO()
	if code := run(t.Context(), []string{"send", "--url", srv.URL, "--auth", "basic", "--user", "u", "--password", "p", "--count", "1", "--max-skew", "1m"}, ios); code != exitUsage ||
		!strings.Contains(errb.String(), "send is the sender and bounds no Date") {
		t.Errorf("send --max-skew: exit %d, want %d with the reason\nstdout:\n%s\nstderr:\n%s", code, exitUsage, out, errb)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("send --max-skew: %d requests sent, want none", n)
	}
	ios, out, errb = testutil.IO()
	if code := run(t.Context(), []string{"check", "--help"}, ios); code != exitOK {
		t.Fatalf("--help: exit %d: %s", code, errb)
	}
	if strings.Contains(out.String(), "--max-skew duration") || !strings.Contains(out.String(), "takes no --max-skew") {
		t.Errorf("check --help lists --max-skew, or does not say why it takes none:\n%s", out)
	}
}

func checkIDs(rs []check.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func tallyGrade(c *check.Counts, g check.Grade) {
	switch g {
	case check.Pass:
		c.Pass++
	case check.Warn:
		c.Warn++
	case check.Fail:
		c.Fail++
	case check.Skip:
		c.Skip++
	}
}
