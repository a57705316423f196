package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/testutil"
)

// pdoApp answers 500 with a PHP exception in its body, as a broken
// Application does.
func pdoApp(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(500)
		w.Write([]byte("PDOException: SQLSTATE[HY000] [2002] Connection refused\n#0 /var/www/espf/handler.php(42): PDO->__construct()\n"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSendShowsWhatTheApplicationSaid: an Application that answers 500
// with an exception in its body: its words are in send's report, in the
// --results lines (the answer's status, headers and body) and in --json.
func TestSendShowsWhatTheApplicationSaid(t *testing.T) {
	t.Parallel()
	app := pdoApp(t)
	results := filepath.Join(t.TempDir(), "attempts.jsonl")
	for _, json := range []bool{false, true} {
		ios, out, errb := testutil.IO()
		args := sendArgs(app.URL, "--count", "2", "--results", results)
		if json {
			args = append(args, "--json")
		}
		if code := run(t.Context(), args, ios); code != exitFailed {
			t.Fatalf("exit %d, want %d: %s", code, exitFailed, errb)
		}
		// the example is the first answer that came back: either event
		want := regexp.MustCompile(`said\t500\t× 4\tPDOException: SQLSTATE\[HY000\] \[2002\] Connection refused\ti_event [12]\n`)
		if json {
			want = regexp.MustCompile(`"first_line": "PDOException: SQLSTATE\[HY000\] \[2002\] Connection refused"`)
		}
		if !want.MatchString(out.String()) {
			t.Errorf("--json %t: the report does not say what the Application said (%q):\n%s", json, want, out)
		}
	}
	b, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.Contains(line, `"answer":{"status":500,"headers":{`) || !strings.Contains(line, `"body":"PDOException: SQLSTATE[HY000]`) ||
			!strings.Contains(line, `handler.php(42)`) {
			t.Errorf("--results line without the answer: %s", line)
		}
	}
}

// TestRunShowsWhatTheApplicationSaid: run's JSON, JUnit and HTML reports
// carry the Application's words too.
func TestRunShowsWhatTheApplicationSaid(t *testing.T) {
	t.Parallel()
	app := pdoApp(t)
	dir := t.TempDir()
	scn := filepath.Join(dir, "pdo.yaml")
	if err := os.WriteFile(scn, []byte(`version: 1
target: {url: "`+app.URL+`"}
auth: {scheme: basic, user: pb, password: s3cret}
phases: [{rate: 50/s, count: 2}]
delivery: {retry_interval: 5ms, max_attempts: 2}
expect: {delivered: ">= 100%"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, out, errb := testutil.IO()
	args := []string{"run", scn, "--json", "--junit", filepath.Join(dir, "junit.xml"), "--html", filepath.Join(dir, "report.html"), "--no-progress"}
	if code := run(t.Context(), args, ios); code != exitFailed {
		t.Fatalf("exit %d, want %d: %s", code, exitFailed, errb)
	}
	if !strings.Contains(out.String(), "PDOException") {
		t.Errorf("run --json does not carry the Application's words:\n%s", out)
	}
	for _, f := range []string{"junit.xml", "report.html"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "PDOException: SQLSTATE[HY000]") {
			t.Errorf("%s does not carry the Application's words", f)
		}
	}
}

// TestCheckShowsWhatTheApplicationSaid: check's failed case names the
// Application's own words, in its line and in --json (said: status,
// headers, body); a 200 whose body reads as a failure warns (fails under
// --strict), its body shown.
func TestCheckShowsWhatTheApplicationSaid(t *testing.T) {
	t.Parallel()
	ios, out, errb := testutil.IO()
	if code := run(t.Context(), checkArgs(pdoApp(t).URL, "2/exact-200"), ios); code != exitFailed {
		t.Fatalf("exit %d, want %d: %s", code, exitFailed, errb)
	}
	if !strings.Contains(out.String(), `The Application said: "PDOException: SQLSTATE[HY000] [2002] Connection refused"`) {
		t.Errorf("the failed case does not say what the Application said:\n%s", out)
	}
	ios, out, errb = testutil.IO()
	if code := run(t.Context(), checkArgs(pdoApp(t).URL, "2/exact-200", "--json"), ios); code != exitFailed {
		t.Fatalf("--json: exit %d, want %d: %s", code, exitFailed, errb)
	}
	if !strings.Contains(out.String(), `"said": {`) || !strings.Contains(out.String(), `handler.php(42)`) {
		t.Errorf("--json has no said with the body:\n%s", out)
	}

	notDone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"success":false,"error":"provisioning failed: HSS unreachable"}`))
	}))
	t.Cleanup(notDone.Close)
	for _, strict := range []bool{false, true} {
		args, want, code := checkArgs(notDone.URL, "2/exact-200"), "warn\t2/exact-200\t200 OK\t", exitOK
		if strict {
			args, want, code = append(args, "--strict"), "FAIL\t2/exact-200\t200 OK\t", exitFailed
		}
		ios, out, errb := testutil.IO()
		if got := run(t.Context(), args, ios); got != code {
			t.Fatalf("--strict %t: exit %d, want %d: %s", strict, got, code, errb)
		}
		if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "reads as a failure") ||
			!strings.Contains(out.String(), `HSS unreachable`) {
			t.Errorf("--strict %t: want %q, the failure named and the body shown:\n%s", strict, want, out)
		}
	}
}

// TestSaidNeverCarriesTheCredentials: an Application whose error page
// echoes the request's headers, and the password it decoded, gets its
// words kept, with every credential the request carried taken out.
func TestSaidNeverCarriesTheCredentials(t *testing.T) {
	t.Parallel()
	const password = "Pw-S3cret-42"
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pw, _ := r.BasicAuth()
		w.Header().Set("X-Debug-Auth", r.Header.Get("Authorization"))
		w.WriteHeader(500)
		w.Write([]byte("Exception: login failed for " + user + ":" + pw + " with " + r.Header.Get("Authorization") + " and key " + r.Header.Get("X-Api-Key")))
	}))
	t.Cleanup(app.Close)
	results := filepath.Join(t.TempDir(), "attempts.jsonl")
	ios, out, errb := testutil.IO()
	args := []string{"send", "--url", app.URL, "--auth", "basic", "--user", "pb", "--password", password, "-H", "X-Api-Key: Api-K3y-77",
		"--count", "1", "--max-attempts", "1", "--results", results, "--json"}
	if code := run(t.Context(), args, ios); code != exitFailed {
		t.Fatalf("exit %d, want %d: %s", code, exitFailed, errb)
	}
	b, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"stdout": out.String(), "stderr": errb.String(), "--results": string(b)} {
		for _, secret := range []string{password, "Api-K3y-77", "cGI6UHctUzNjcmV0LTQy"} { // base64 of pb:password
			if strings.Contains(text, secret) {
				t.Errorf("%s carries a credential %q:\n%s", name, secret, text)
			}
		}
		if name != "stderr" && !strings.Contains(text, "Exception: login failed for [redacted]") {
			t.Errorf("%s lost the Application's words:\n%s", name, text)
		}
	}
}

// TestSendNamesTheRefusedCredential: when most answers are 401, send's
// report says which credential the Application refused (never its
// secret), and the flags that set it.
func TestSendNamesTheRefusedCredential(t *testing.T) {
	t.Parallel()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "invalid credentials", http.StatusUnauthorized)
	}))
	t.Cleanup(app.Close)
	for _, json := range []bool{false, true} {
		ios, out, errb := testutil.IO()
		args := sendArgs(app.URL, "--count", "3")
		if json {
			args = append(args, "--json")
		}
		if code := run(t.Context(), args, ios); code != exitFailed {
			t.Fatalf("exit %d, want %d: %s", code, exitFailed, errb)
		}
		want := `the Application refused the signature credentials (keyId "test", the Date signed with its key, hmac-sha1): ` +
			`are these the credentials the Application expects? (--auth signature, --key-id, --key, --header-name)`
		if json {
			want = `"credentials": "signature credentials (keyId \"test\", the Date signed with its key, hmac-sha1)"`
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("--json %t: the report does not name the refused credential (%q):\n%s", json, want, out)
		}
		if strings.Contains(out.String()+errb.String(), "s3cret") {
			t.Error("the key is in send's output")
		}
	}
}
