package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/runner"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/espfctl/espfctl/internal/verify"
)

// flagsConfig is the engine config `espfctl send ARGS` would run.
func flagsConfig(t *testing.T, args ...string) sim.Config {
	t.Helper()
	ios, _, _ := testutil.IO()
	var opts *sendOptions
	cmd := newSendCmd(ios, func(_ context.Context, o *sendOptions) error { opts = o; return nil })
	cmd.SetArgs(append([]string{"--url", "http://recv.test/espf", "--auth", "signature", "--key-id", "test", "--key", "s3cret"}, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	s, err := opts.scenario()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := runner.EngineConfig(s, opts.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Events, err = event.NewGenerator(s.Events.Gen); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// scenarioConfig is the engine config `espfctl run` would run for a
// scenario with these extra top-level keys.
func scenarioConfig(t *testing.T, keys string) sim.Config {
	t.Helper()
	s, err := scenario.Parse("jitter.yaml", []byte("version: 1\nauth: {scheme: signature, key_id: test, key: s3cret}\n"+keys))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := runner.EngineConfig(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Events, err = event.NewGenerator(s.Events.Gen); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// policy is the part of a config that flags and a scenario both set,
// headers aside.
type policy struct {
	Timeout               time.Duration
	Retry                 sim.Retry
	MaxInFlight           int
	Duplicates            float64
	DuplicateDelay, Drain time.Duration
}

func delivery(c sim.Config) policy {
	return policy{c.Timeout, c.Retry, c.MaxInFlight, c.Duplicates, c.DuplicateDelay, c.Drain}
}

// TestSendAndScenarioDefaultsAgree: send without delivery flags and a
// scenario without a delivery: section give the engine the same policy,
// the one README.md documents.
func TestSendAndScenarioDefaultsAgree(t *testing.T) {
	t.Parallel()
	fl := delivery(flagsConfig(t, "--count", "1"))
	sc := delivery(scenarioConfig(t, "phases: [{rate: 10/s, count: 1}]\n"))
	if fl != sc {
		t.Errorf("send's defaults %+v\nscenario's       %+v", fl, sc)
	}
	if fl.Retry.Jitter != sim.DefaultJitter || fl.Retry.Interval != time.Second || fl.Retry.MaxAttempts != 10 ||
		fl.Retry.Backoff != sim.Exponential || fl.Drain != 81500*time.Millisecond {
		t.Errorf("default retry %+v drain %s, want README's exponential from 1s, ± 10 %%, 10 attempts, drain 81.5s", fl.Retry, fl.Drain)
	}
}

// TestJitterZeroSameFromFlagsAndScenario: `send --retry-jitter 0` and a
// scenario's `jitter: 0` both mean no jitter. Run on synctest's clock
// against the built-in receiver's handler failing every event's first two
// deliveries, both re-send exactly 400ms after each 503, at the same times.
func TestJitterZeroSameFromFlagsAndScenario(t *testing.T) {
	configs := map[string]sim.Config{
		"send":     flagsConfig(t, "--rate", "10/s", "--count", "5", "--retry-interval", "400ms", "--retry-backoff", "fixed", "--retry-jitter", "0", "--max-attempts", "4"),
		"scenario": scenarioConfig(t, "phases: [{rate: 10/s, count: 5}]\ndelivery: {retry_interval: 400ms, backoff: fixed, jitter: 0, max_attempts: 4}\n"),
	}
	if a, b := delivery(configs["send"]), delivery(configs["scenario"]); a != b || a.Retry.Jitter != 0 {
		t.Errorf("send %+v\nscenario %+v\nwant the same, without jitter", a, b)
	}
	waits := map[string][]time.Duration{}
	for name, cfg := range configs {
		synctest.Test(t, func(t *testing.T) {
			waits[name] = retryWaitsAt(t, cfg)
		})
		if len(waits[name]) != 10 {
			t.Fatalf("%s: %d re-sends, want 10 (5 events × 2 failures)", name, len(waits[name]))
		}
		for _, w := range waits[name] {
			if w != 400*time.Millisecond {
				t.Errorf("%s: re-sends %v after the answer; want exactly 400ms each", name, waits[name])
				break
			}
		}
	}
	t.Logf("send: %v\nscenario: %v", waits["send"], waits["scenario"])
}

// retryWaitsAt runs cfg against a fail-first built-in receiver inside the
// bubble, and returns for every re-send how long after the previous answer
// it was sent.
func retryWaitsAt(t *testing.T, cfg sim.Config) []time.Duration {
	au, err := sign.New(sign.Config{Scheme: sign.SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"s3cret"}, MaxSkew: sign.DefaultMaxSkew})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := verify.NewReceiver(verify.Config{Auth: au, Faults: verify.Faults{FailFirst: 2, FailStatus: 503}})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	cfg.URL, cfg.Client = "http://recv.test/espf", &http.Client{Transport: handlerTransport{rc}}
	last := map[int64]time.Time{}
	var waits []time.Duration
	cfg.Sink = sim.RecordFunc(func(r *sim.Record) {
		if r.Attempt > 1 {
			waits = append(waits, r.Sent.Sub(last[r.IEvent]))
		}
		last[r.IEvent] = r.Answered
	})
	if _, err := sim.Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if st := rc.Stats(); st.FirstDelivered != 5 {
		t.Errorf("receiver first-delivered %d events, want 5", st.FirstDelivered)
	}
	return waits
}

// handlerTransport hands each request to h in the same process: inside a
// synctest bubble, a loopback socket would keep the clock from moving.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	req := httptest.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), r.Body)
	req.Header = r.Header.Clone()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// TestSendFlagsCheckedByTheEngine: what sim.NewConfig rejects is a usage
// error naming the flag; no value silently becomes a default.
func TestSendFlagsCheckedByTheEngine(t *testing.T) {
	t.Parallel()
	srv := statusServer(t, 200)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--retry-jitter", "1.5"}, "--retry-jitter: 1.5 is not a fraction from 0 to 1"},
		{[]string{"--retry-interval", "0"}, "--retry-interval: 0s must be more than 0"},
		{[]string{"--drain", "0"}, "--drain: 0s must be more than 0"},
		{[]string{"--timeout", "0", "--max-attempts", "0"}, "--max-attempts: 0: want at least 1 attempt, the first included; --timeout: 0s must be more than 0"},
		{[]string{"--rate", "0"}, `--rate: "0/s" sends nothing`},
		{[]string{"--retry-backoff", "linear"}, `--retry-backoff: retry backoff "linear": want exponential or fixed`},
	} {
		ios, _, errb := testutil.IO()
		if code := run(t.Context(), sendArgs(srv.URL, append([]string{"--count", "1"}, tt.args...)...), ios); code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %s", tt.args, code, exitUsage, errb)
		}
		if !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: stderr %q does not say %q", tt.args, errb, tt.want)
		}
	}
}
