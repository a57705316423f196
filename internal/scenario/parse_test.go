package scenario

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/espfctl/espfctl/internal/verify"
)

func noEnv(string) (string, bool) { return "", false }

// TestShippedScenariosParse loads every file in scenarios/ (stripe's
// fixture consistency test): a shipped scenario must always be valid.
func TestShippedScenariosParse(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenarios shipped in scenarios/")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, err := parse(f, src, noEnv)
			if err != nil {
				t.Fatalf("shipped scenario does not load:\n%v", err)
			}
			if len(s.Phases) == 0 || len(s.Expect) == 0 {
				t.Errorf("%s has %d phases and %d expectations; want both", f, len(s.Phases), len(s.Expect))
			}
		})
	}
}

// TestBadScenarios compares the positioned error list for each broken file
// in testdata/bad with its golden .out file.
func TestBadScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no broken scenarios in testdata/bad")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			src, _ := os.ReadFile(f)
			s, err := parse(filepath.ToSlash(f), src, noEnv)
			if err == nil {
				t.Fatalf("Parse(%s) = %+v, want errors", f, s)
			}
			var buf bytes.Buffer
			for _, e := range Errors(err) {
				buf.WriteString(e.Error() + "\n")
			}
			if buf.Len() == 0 {
				t.Fatalf("Parse(%s) error %v holds no *Error", f, err)
			}
			testutil.Golden(t, buf.Bytes())
		})
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	src, _ := os.ReadFile("testdata/bad/secrets.yaml")
	_, err := parse("secrets.yaml", src, noEnv)
	if err == nil {
		t.Fatal("want errors")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error message leaks the password:\n%v", err)
	}
}

func TestEnvExpansion(t *testing.T) {
	src := []byte("version: 1\nauth: {scheme: custom, name: Plain, credentials: \"${CRED}\"}\nphases: [{rate: 5/s, count: 1}]\n")
	env := func(k string) (string, bool) { return map[string]string{"CRED": "from-env"}[k], k == "CRED" }
	s, err := parse("x.yaml", src, env)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Auth.Credentials; len(got) != 1 || got[0] != "from-env" {
		t.Errorf("credentials = %q, want [from-env]", got)
	}
	if _, err := parse("x.yaml", src, noEnv); err == nil || !strings.Contains(err.Error(), "x.yaml:2:") || !strings.Contains(err.Error(), "CRED is not set") {
		t.Errorf("unset variable: error = %v, want it positioned at line 2 and naming CRED", err)
	}
}

func TestParseValues(t *testing.T) {
	src := []byte(`version: 1
auth: {scheme: signature, key_id: k, key: [new, old]}
events:
  mix: {Subscriber/Created: 3, Customer/Updated: 1}
  ids: 10-20
phases:
  - {name: a, rate: 50/1s, duration: 2s}
  - {rate: 600/1m, arrival: poisson, count: 7}
delivery: {duplicates: 10%, retry_interval: 250ms, backoff: exponential}
expect:
  delivered: 100%
  p99: "< 300ms"
  dropped: 0
`)
	s, err := parse("v.yaml", src, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Auth.Keys) != 2 || s.Auth.Keys[0] != "new" {
		t.Errorf("keys = %q, want [new old]", s.Auth.Keys)
	}
	if s.Target != nil {
		t.Error("target set, want built-in receiver")
	}
	if g := s.Events.Gen; len(g.Types) != 2 || g.Types[0] != (event.Weighted{Type: "Subscriber/Created", Weight: 3}) {
		t.Errorf("mix = %+v", g.Types)
	}
	if g := s.Events.Gen; g.IDMin != 10 || g.IDMax != 20 {
		t.Errorf("ids = %d-%d, want 10-20", g.IDMin, g.IDMax)
	}
	if len(s.Phases) != 2 || s.Phases[1].Count != 7 || s.Phases[1].Arrival != "poisson" || s.Phases[0].Name != "a" {
		t.Errorf("phases = %+v", s.Phases)
	}
	if s.Delivery.Duplicates != 0.1 {
		t.Errorf("duplicates = %v, want 0.1", s.Delivery.Duplicates)
	}
	want := []string{"delivered >= 100%", "p99 < 300ms", "dropped <= 0"}
	for i, e := range s.Expect {
		if e.String() != want[i] {
			t.Errorf("expect[%d] = %q, want %q", i, e, want[i])
		}
	}
}

func TestEvaluate(t *testing.T) {
	src := []byte("version: 1\nauth: {scheme: basic, user: u, password: p}\nphases: [{rate: 1/s, count: 1}]\nexpect:\n  delivered: 100%\n  p99: < 100ms\n  dropped: 0\n  gave_up: <= 2\n")
	s, err := parse("e.yaml", src, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	out := Evaluate(s.Expect, Measured{"delivered": 1, "p99": 0.1, "dropped": 1})
	wantPass := []bool{true, false, false, false}
	for i, o := range out {
		if o.Pass != wantPass[i] {
			t.Errorf("%s with actual %s: pass = %t, want %t", o.Expectation, o.ActualText(), o.Pass, wantPass[i])
		}
	}
	if out[3].Measured || out[3].ActualText() != "not measured" {
		t.Errorf("gave_up: measured = %t, want not measured", out[3].Measured)
	}
}

func TestErrorsSorted(t *testing.T) {
	err := errors.Join(&Error{File: "f", Line: 3, Col: 1, Msg: "b"}, &Error{File: "f", Line: 1, Col: 2, Msg: "a"})
	got := Errors(err)
	if len(got) != 2 || got[0].Msg != "a" {
		t.Errorf("Errors() = %v, want sorted by line", got)
	}
}

// TestDeliveryDecodesIntoTheEngine: the delivery: section lands in
// sim.Delivery over send's defaults, and every value means what it says.
func TestDeliveryDecodesIntoTheEngine(t *testing.T) {
	s, err := parse("d.yaml", []byte("version: 1\nauth: {scheme: basic, user: u, password: p}\nphases: [{rate: 10/s, count: 1}]\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Delivery; d.Retry != sim.DefaultRetry() || d.Timeout != sim.DefaultTimeout || d.MaxInFlight != sim.DefaultMaxInFlight || d.Drain != sim.DefaultDrainFor(sim.DefaultRetry()) {
		t.Errorf("no delivery section: %+v, want sim.DefaultDelivery", d)
	}
	s, err = parse("d.yaml", []byte(`version: 1
auth: {scheme: basic, user: u, password: p}
receiver: {faults: {fail_first: 2, delay: 10ms - 20ms}}
phases: [{rate: 10/s, count: 1}]
delivery: {jitter: 0, retry_interval: 400ms, backoff: exponential, max_attempts: 7, headers: {x-env: staging}}
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := sim.Retry{Interval: 400 * time.Millisecond, Backoff: sim.Exponential, Jitter: 0, MaxAttempts: 7}
	if s.Delivery.Retry != want || s.Delivery.Headers.Get("X-Env") != "staging" {
		t.Errorf("retry %+v headers %v; want %+v and X-Env: staging", s.Delivery.Retry, s.Delivery.Headers, want)
	}
	if f := s.Receiver.Faults; f.FailFirst != 2 || f.Delay != (verify.Delay{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}) {
		t.Errorf("faults %+v", f)
	}
}

// TestEngineRulesPositioned: what sim.NewConfig (send's check) and
// verify.Faults.Validate (serve's) reject is reported at the key.
func TestEngineRulesPositioned(t *testing.T) {
	_, err := parse("z.yaml", []byte(`version: 1
auth: {scheme: basic, user: u, password: p}
receiver: {faults: {fail_status: 200}}
phases: [{rate: 10/s, count: 1}]
delivery:
  timeout: 0
  retry_interval: 0s
  max_attempts: 0
  drain: 0
`), noEnv)
	var got []string
	for _, e := range Errors(err) {
		got = append(got, e.Error())
	}
	want := []string{
		"z.yaml:3:20: receiver.faults: fail status 200: want an HTTP status other than 200",
		"z.yaml:6:12: delivery.timeout: 0s must be more than 0 (how long to wait for an answer)",
		"z.yaml:7:19: delivery.retry_interval: 0s must be more than 0 (the wait before a re-send)",
		"z.yaml:8:17: delivery.max_attempts: 0 is too small; want at least 1",
		"z.yaml:9:10: delivery.drain: 0s must be more than 0 (how long to wait for re-sends after the schedule)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestUnquotedIndicatorSaysQuoteIt: a value that starts with a character
// YAML reads as syntax gets "quote it" with its line and column, whether
// it broke the YAML (> | * % @ `) or parsed as something else (! &).
func TestUnquotedIndicatorSaysQuoteIt(t *testing.T) {
	t.Parallel()
	for _, c := range strings.Split(indicators, "") {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			src := "version: 1\nauth: {scheme: basic, user: pb, password: secret}\nphases:\n  - {rate: 10/s, count: 10}\nexpect:\n  p99: " + c + "1s\n"
			_, err := parse("s.yaml", []byte(src), noEnv)
			errs := Errors(err)
			if len(errs) != 1 {
				t.Fatalf("p99: %s1s: errors %v, want one", c, err)
			}
			want := "s.yaml:6:8: a value cannot start with " + c + " unquoted (YAML reads it as syntax); quote it: p99: \"" + c + "1s\""
			if got := errs[0].Error(); got != want {
				t.Errorf("p99: %s1s:\n got %s\nwant %s", c, got, want)
			}
		})
	}
}
