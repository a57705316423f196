package sim_test

import (
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/espfctl/espfctl/internal/sim"
)

func TestNewConfigKeepsWhatWasChosen(t *testing.T) {
	t.Parallel()
	phases := []sim.Phase{{Rate: sim.DefaultRate, Count: 3}}
	cfg, err := sim.NewConfig(phases, sim.DefaultDelivery(), 7)
	if err != nil {
		t.Fatal(err)
	}
	want := sim.Retry{Interval: sim.DefaultRetryInterval, Backoff: sim.Exponential, Jitter: sim.DefaultJitter,
		MaxAttempts: sim.DefaultMaxAttempts, MaxInterval: 10 * sim.DefaultRetryInterval}
	if cfg.Retry != want || cfg.Timeout != sim.DefaultTimeout || cfg.MaxInFlight != sim.DefaultMaxInFlight ||
		cfg.Drain != sim.DefaultDrainFor(sim.DefaultRetry()) || cfg.Seed != 7 || cfg.Phases[0].Arrival != sim.Constant {
		t.Errorf("defaults: retry %+v timeout %v in flight %d drain %v seed %d arrival %q", cfg.Retry, cfg.Timeout,
			cfg.MaxInFlight, cfg.Drain, cfg.Seed, cfg.Phases[0].Arrival)
	}
	if cfg.DuplicateDelay != sim.DefaultRetryInterval {
		t.Errorf("duplicate delay %v, want the retry interval", cfg.DuplicateDelay)
	}

	d := sim.DefaultDelivery()
	d.Retry.Jitter = 0
	cfg, err = sim.NewConfig(phases, d, 1)
	if err != nil || cfg.Retry.Jitter != 0 {
		t.Errorf("jitter 0 became %v (%v); want none", cfg.Retry.Jitter, err)
	}
}

func TestNewConfigRejectsEveryBadValue(t *testing.T) {
	t.Parallel()
	d := sim.DefaultDelivery()
	d.Timeout, d.Drain, d.MaxInFlight, d.Duplicates, d.DuplicateDelay = 0, -time.Second, 0, 1.5, -1
	d.Retry = sim.Retry{Interval: 0, Backoff: "linear", Jitter: math.NaN(), MaxAttempts: 0, MaxInterval: -1}
	phases := []sim.Phase{{Rate: sim.DefaultRate}, {Rate: sim.Rate{Freq: 0, Per: time.Second}, Arrival: "bursty", Count: -1, Duration: -1}}
	_, err := sim.NewConfig(phases, d, 1)
	var got []string
	for _, e := range sim.SettingErrors(err) {
		got = append(got, e.Field)
	}
	want := []string{"Phases[1].Rate", "Phases[1].Arrival", "Phases[1].Count", "Phases[1].Duration",
		"Retry.Interval", "Retry.Backoff", "Retry.Jitter", "Retry.MaxAttempts", "Retry.MaxInterval",
		"Timeout", "Drain", "MaxInFlight", "Duplicates", "DuplicateDelay"}
	if !slices.Equal(got, want) {
		t.Errorf("rejected %v\nwant     %v\n(%v)", got, want, err)
	}
	if _, err := sim.NewConfig(nil, sim.DefaultDelivery(), 1); len(sim.SettingErrors(err)) != 1 {
		t.Errorf("no phases: %v, want one error", err)
	}
}

// failFirst answers the first n attempts of every event 503, then 200, on
// synctest's clock after a fixed service time.
func failFirst(n int, service time.Duration) *http.Client {
	var mu sync.Mutex
	seen := map[string]int{}
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		time.Sleep(service)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		seen[string(b)]++
		status := 200
		if seen[string(b)] <= n {
			status = 503
		}
		mu.Unlock()
		return &http.Response{StatusCode: status, Body: http.NoBody, Request: r}, nil
	})}
}

// TestRetriesAtTheIntervalUnderSynctest: with no jitter every re-send
// leaves exactly the interval after the answer before it; with jitter the
// waits spread around it.
func TestRetriesAtTheIntervalUnderSynctest(t *testing.T) {
	for _, jitter := range []float64{0, 0.1} {
		synctest.Test(t, func(t *testing.T) {
			d := sim.DefaultDelivery()
			d.Retry = sim.Retry{Interval: 400 * time.Millisecond, Backoff: sim.Fixed, Jitter: jitter, MaxAttempts: 4}
			cfg, err := sim.NewConfig([]sim.Phase{{Rate: sim.DefaultRate, Count: 5}}, d, 1)
			if err != nil {
				t.Fatal(err)
			}
			cfg.URL, cfg.Client, cfg.Events = "http://recv.test/", failFirst(2, 3*time.Millisecond), gen(t, 0)
			_, recs, err := collectRun(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			waits := retryWaits(recs)
			if len(waits) != 10 {
				t.Fatalf("%d re-sends, want 10 (5 events × 2 failures)", len(waits))
			}
			exact := 0
			for _, w := range waits {
				if w == 400*time.Millisecond {
					exact++
				}
			}
			if jitter == 0 && exact != len(waits) {
				t.Errorf("jitter 0: re-sends after %v; want every one after exactly 400ms", waits)
			}
			if jitter > 0 && exact == len(waits) {
				t.Errorf("jitter %v: every re-send after exactly 400ms; want spread", jitter)
			}
		})
	}
}

// retryWaits is, for every re-send, the time from the answer before it to
// when it was sent.
func retryWaits(recs []sim.Record) []time.Duration {
	last := map[int64]time.Time{}
	var out []time.Duration
	for _, r := range recs {
		if r.Attempt > 1 && !r.Duplicate {
			out = append(out, r.Sent.Sub(last[r.IEvent]))
		}
		last[r.IEvent] = r.Answered
	}
	return out
}
