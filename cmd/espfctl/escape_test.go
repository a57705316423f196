package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/testutil"
)

// hostile is what an attacker puts in a field that espfctl prints: an
// ANSI colour and a title-setting sequence, a newline that starts a forged
// line, a tab that adds a column, a carriage return, a bidirectional
// override, a line separator, a C1 control (CSI) and a byte that is not
// UTF-8.
const hostile = "X\x1b[31mRED\x1b]0;pwned\x07\nforged\tcol\r\u202eevil\u2028\u009b\xff"

// hostileJSON is hostile as it is written inside a JSON string (the
// invalid byte kept raw, as a careless writer would leave it).
const hostileJSON = `X\u001b[31mRED\u001b]0;pwned\u0007\nforged\tcol\r\u202eevil\u2028\u009b` + "\xff"

// assertInert fails when out carries any of hostile's active parts: an
// escape, a carriage return, a bidirectional override, a line separator, a
// C1 control, invalid UTF-8, or a line that the hostile newline started.
func assertInert(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s: not valid UTF-8:\n%q", what, out)
	}
	for _, bad := range []string{"\x1b", "\x07", "\r", "\u202e", "\u2028", "\u009b"} {
		if strings.Contains(out, bad) {
			t.Errorf("%s: carries %q unescaped:\n%s", what, bad, out)
		}
	}
	for line := range strings.Lines(out) {
		if strings.HasPrefix(strings.TrimLeft(line, " "), "forged") {
			t.Errorf("%s: the hostile newline started a line of its own: %q", what, line)
		}
	}
}

// assertShown fails unless out shows the hostile text escaped, so that a
// reader sees what was sent.
func assertShown(t *testing.T, what, out string) {
	t.Helper()
	if !strings.Contains(out, `X\x1b[31mRED\x1b]0;pwned\x07\nforged\tcol\r\u202eevil\u2028\u009b`) {
		t.Errorf("%s: the hostile text is not shown escaped:\n%s", what, out)
	}
}

// assertJSON fails unless each document in out (one per line when lines)
// is valid JSON and valid UTF-8.
func assertJSON(t *testing.T, what, out string, lines bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s: JSON output is not valid UTF-8: %q", what, out)
	}
	docs := []string{out}
	if lines {
		docs = strings.Split(strings.TrimSpace(out), "\n")
	}
	for _, d := range docs {
		if !json.Valid([]byte(d)) {
			t.Errorf("%s: not valid JSON: %q", what, d)
		}
	}
}

// runIO runs espfctl in-process with the given streams' layout (aligned
// when tty) and returns the exit code and streams.
func runIO(t *testing.T, tty bool, args ...string) (int, string, string) {
	t.Helper()
	ios, out, errb := testutil.IO()
	ios.IsTTY = tty
	code := run(t.Context(), args, ios)
	return code, out.String(), errb.String()
}

// TestReportEscapesAResultsFile: report reads results files from
// anywhere; event types, error classes and error details from one come out
// escaped in the text report (plain and aligned) and as valid UTF-8 JSON.
func TestReportEscapesAResultsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	at := `"intended":"2026-01-01T00:00:00Z","sent":"2026-01-01T00:00:00Z","answered":"2026-01-01T00:00:00.01Z"`
	lines := []string{
		`{"i_event":1,"event_type":"` + hostileJSON + `","attempt":1,` + at + `,"status":200,"outcome":"delivered"}`,
		`{"i_event":2,"event_type":"` + hostileJSON + `","attempt":1,` + at + `,"status":404,"outcome":"dropped"}`,
		`{"i_event":3,"event_type":"Subscriber/Created","attempt":1,` + at + `,"error":"` + hostileJSON + `","detail":"` + hostileJSON + `","outcome":"gave_up"}`,
		`{"i_event":4,"event_type":"Subscriber/Created","attempt":1,` + at + `,"error":"tls","detail":"x509: ` + hostileJSON + `","outcome":"gave_up"}`,
	}
	file := filepath.Join(dir, "hostile.jsonl")
	writeFile(t, file, strings.Join(lines, "\n")+"\n")
	for _, tty := range []bool{false, true} {
		code, out, errb := runIO(t, tty, "report", file)
		if code != exitFailed {
			t.Fatalf("report (tty %v): exit %d, want 1 (events not delivered): %s", tty, code, errb)
		}
		assertInert(t, "report text", out)
		assertShown(t, "report text", out)
		assertInert(t, "report stderr", errb)
	}
	_, out, _ := runIO(t, false, "report", file, "--json")
	assertJSON(t, "report --json", out, false)

	// a file name that is itself hostile is escaped in the error message
	code, _, errb := runIO(t, false, "report", filepath.Join(dir, "missing-"+strings.ReplaceAll(hostile, "/", "")))
	if code != exitUsage {
		t.Errorf("report on a missing file: exit %d, want 2", code)
	}
	assertInert(t, "report's error", errb)
}

// TestVerifyEscapesTheHeader: what verify explains comes from the header
// it was given (a user name, a keyId, an algorithm, token claims); the
// explanation shows it escaped, --json as valid UTF-8.
func TestVerifyEscapesTheHeader(t *testing.T) {
	t.Parallel()
	b64 := base64.RawURLEncoding.EncodeToString
	head := b64([]byte(`{"alg":"HS256","kid":"` + hostileJSON + `"}`))
	claims := b64([]byte(`{"Exp":4102444800,"i_env":3,"note":"` + hostileJSON + `"}`))
	mac := hmac.New(sha256.New, []byte("superkey"))
	mac.Write([]byte(head + "." + claims))
	token := head + "." + claims + "." + b64(mac.Sum(nil))
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"basic user", []string{"--authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(hostile+":pw")), "--user", "u", "--password", "pw"}},
		{"signature keyId", []string{"--authorization", `Signature keyId="` + hostile + `",algorithm="hmac-sha1",signature="x"`,
			"--date", "Thu, 12 Apr 2018 15:24:00 GMT", "--now", "1523546640", "--key-id", "test", "--key", "k"}},
		{"signature algorithm", []string{"--authorization", `Signature keyId="test",algorithm="` + hostile + `",signature="x"`,
			"--date", "Thu, 12 Apr 2018 15:24:00 GMT", "--now", "1523546640", "--key-id", "test", "--key", "k"}},
		{"bearer claims", []string{"--authorization", "Bearer " + token, "--key", "superkey", "--i-env", "4", "--now", "1560340000"}},
		{"custom scheme name", []string{"--authorization", hostile + " creds", "--scheme", "Plain", "--credentials", "creds"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errb := runIO(t, false, append([]string{"verify"}, tc.args...)...)
			if code != exitFailed {
				t.Fatalf("exit %d, want 1 (invalid): %s%s", code, out, errb)
			}
			assertInert(t, "verify", out)
			assertInert(t, "verify stderr", errb)
			_, out, _ = runIO(t, false, append([]string{"verify", "--json"}, tc.args...)...)
			assertJSON(t, "verify --json", out, false)
		})
	}
}

// TestRunEscapesTheScenario: a scenario file's name, phase names and
// event types, and the built-in receiver's reasons that quote them, come
// out escaped in run's text report and valid in its JSON.
func TestRunEscapesTheScenario(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	y := strings.NewReplacer(`\u001b`, `\e`, `\u0007`, `\a`, "\xff", `\xff`).Replace(hostileJSON) // as YAML writes it
	writeFile(t, filepath.Join(dir, "hostile.yaml"), `version: 1
name: "`+y+`"
auth: {scheme: basic, user: pb, password: pw}
receiver: {strict: true}
events:
  allow_unknown_types: true
  list:
    - {event_type: "Group/`+y+`", variables: {i_account: 1}}
    - {event_type: "Subscriber/Created", variables: {i_account: 2}}
phases:
  - {name: "`+y+`", rate: 100/s, count: 1}
  - {name: "second", rate: 100/s, count: 1}
delivery: {max_attempts: 1}
expect: {delivered: 100%}
`)
	for _, tty := range []bool{false, true} {
		code, out, errb := runIO(t, tty, "run", "--no-progress", "--report-json", filepath.Join(dir, "run.json"), filepath.Join(dir, "hostile.yaml"))
		if code != exitFailed {
			t.Fatalf("run (tty %v): exit %d, want 1 (the strict receiver refuses the unknown type): %s\n%s", tty, code, out, errb)
		}
		assertInert(t, "run text", out)
		assertShown(t, "run text", out)
		assertInert(t, "run stderr", errb)
		if !strings.Contains(out, "400") {
			t.Errorf("run text: no 400 from the strict receiver:\n%s", out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "run --report-json", string(b), false)
	_, out, _ := runIO(t, false, "run", "--no-progress", "--json", filepath.Join(dir, "hostile.yaml"))
	assertJSON(t, "run --json", out, false)

	// an invalid scenario: the positioned errors quote the file
	writeFile(t, filepath.Join(dir, "bad.yaml"), "version: 1\nname: \""+y+"\"\nauth: {scheme: \""+y+"\"}\nphases: [{rate: \""+y+"\", count: 1}]\n\""+y+"\": 1\n")
	for _, cmd := range []string{"run", "validate"} {
		code, out, errb := runIO(t, false, cmd, filepath.Join(dir, "bad.yaml"))
		if code != exitUsage {
			t.Errorf("%s bad.yaml: exit %d, want 2", cmd, code)
		}
		assertInert(t, cmd+" of an invalid scenario", out+errb)
	}
}

// hostileCert is a certificate for names that are themselves hostile, with
// a hostile subject: the x509 reasons that check reports quote them.
func hostileCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSuffix(hostile, "\xff") // a certificate's strings are UTF-8
	tpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"evil\x1b[31m.example", "x\nforged.example"}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	c, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	if err != nil {
		t.Fatal(err)
	}
	return c, certPEM
}

// TestCheckEscapesTheApplication: an Application whose certificate names
// carry escapes gets them quoted in 1/tls-certificate's consequence: the
// table (plain and aligned) shows them escaped, --json is valid. A header
// value with a tab, a bidirectional override and a byte that is not UTF-8
// (all of which an HTTP header may carry) is written in the curl
// reproducer as printf escapes, and the reproducer, run by sh, sends the
// same bytes.
func TestCheckEscapesTheApplication(t *testing.T) {
	t.Parallel()
	const trace = "tab\there \u202eevil caf\xff"
	var mu sync.Mutex
	var traces []string
	cert, certPEM := hostileCert(t)
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ev, err := event.Decode(b)
		mu.Lock()
		traces = append(traces, r.Header.Get("X-Trace"))
		mu.Unlock()
		if err == nil && ev.Type == "DID/Created" {
			w.WriteHeader(http.StatusInternalServerError) // 1/did fails, with a reproducer
			return
		}
		if r.Header.Get("Authorization") != "Plain "+checkSecret {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	app.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	app.Config.ErrorLog = log.New(io.Discard, "", 0) // 1/tls-certificate's refused handshakes
	app.StartTLS()
	t.Cleanup(app.Close)
	url := strings.Replace(app.URL, "127.0.0.1", "localhost", 1) // the x509 reason then lists the certificate's names
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, string(certPEM))
	args := checkArgs(url, "--ca-file", ca, "--insecure-skip-verify", "-H", "X-Trace: "+trace, "1/tls-certificate", "1/did")
	var repro string
	for _, tty := range []bool{false, true} {
		code, out, errb := runIO(t, tty, args...)
		if code != exitFailed {
			t.Fatalf("check (tty %v): exit %d, want 1:\n%s\n%s", tty, code, out, errb)
		}
		assertInert(t, "check table", out)
		assertInert(t, "check stderr", errb)
		if !strings.Contains(out, `evil\x1b[31m.example`) {
			t.Errorf("check table: the certificate's name is not shown escaped:\n%s", out)
		}
		if strings.Contains(out, "caf\xff") || !strings.Contains(out, `printf '%b'`) {
			t.Errorf("check table: the reproducer does not write the header in printf escapes:\n%s", out)
		}
		if !tty {
			_, repro, _ = strings.Cut(out, "# reproduce 1/did\n")
			repro, _, _ = strings.Cut(repro, "\n\n")
		}
	}
	code, out, errb := runIO(t, false, append(args, "--json")...)
	if code != exitFailed {
		t.Fatalf("check --json: exit %d: %s", code, errb)
	}
	assertJSON(t, "check --json", out, false)

	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl to run the reproducer with")
	}
	mu.Lock()
	traces = nil
	mu.Unlock()
	cmd := testutil.Command(t, "sh", "-c", repro)
	cmd.Env = append(os.Environ(), "ESPFCTL_CREDENTIALS="+checkSecret)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("the reproducer:\n%s\nfailed: %v\n%s", repro, err, stdout.String())
	}
	if !strings.HasPrefix(stdout.String(), "HTTP/1.1 500") {
		t.Errorf("the reproducer got %q, want the 500 that failed the case", stdout.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(traces) != 1 || traces[0] != trace {
		t.Errorf("the reproducer sent X-Trace %q, want %q", traces, trace)
	}
}

// TestErrorMessagesEscaped: an error that quotes outside input (here an
// events file line and a file name) reaches stderr escaped.
func TestErrorMessagesEscaped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	writeFile(t, events, `{"event_type":"Subscriber/Created","variables":{"i_event":"`+hostileJSON+`"}}`+"\n")
	code, _, errb := runIO(t, false, "send", "--url", "http://127.0.0.1:1/", "--auth", "basic", "--user", "u", "--password", "p", "--events", events)
	if code != exitUsage {
		t.Errorf("send with a bad events line: exit %d, want 2: %s", code, errb)
	}
	assertInert(t, "send's error", errb)
	code, _, errb = runIO(t, false, "journal", filepath.Join(dir, hostile+".db"))
	if code != exitError {
		t.Errorf("journal of a missing file: exit %d, want 3: %s", code, errb)
	}
	assertInert(t, "journal's error", errb)
}
