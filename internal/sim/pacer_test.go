package sim_test

import (
	"net/http"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/sim"
)

func TestParseRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want sim.Rate
		ok   bool
	}{
		{"10", sim.Rate{Freq: 10, Per: time.Second}, true},
		{"10/s", sim.Rate{Freq: 10, Per: time.Second}, true},
		{"50/1s", sim.Rate{Freq: 50, Per: time.Second}, true},
		{"600/1m", sim.Rate{Freq: 600, Per: time.Minute}, true},
		{"5/100ms", sim.Rate{Freq: 5, Per: 100 * time.Millisecond}, true},
		{"fast", sim.Rate{}, false},
		{"10/0s", sim.Rate{}, false},
		{"-1", sim.Rate{}, false},
	}
	for _, tt := range tests {
		got, err := sim.ParseRate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, ok=%t", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestConstantPace(t *testing.T) {
	t.Parallel()
	p := sim.NewPacer(sim.Phase{Rate: sim.Rate{Freq: 10, Per: time.Second}, Duration: time.Second}, 0)
	tests := []struct {
		elapsed time.Duration
		sent    int64
		wait    time.Duration
		stop    bool
	}{
		{0, 0, 0, false},
		{0, 1, 100 * time.Millisecond, false},
		{150 * time.Millisecond, 2, 50 * time.Millisecond, false},
		{350 * time.Millisecond, 2, -150 * time.Millisecond, false}, // behind: due 150ms ago
		{time.Second, 10, 0, true},
	}
	for _, tt := range tests {
		wait, stop := p.Pace(tt.elapsed, tt.sent)
		if wait != tt.wait || stop != tt.stop {
			t.Errorf("Pace(%v, %d) = (%v, %t), want (%v, %t)", tt.elapsed, tt.sent, wait, stop, tt.wait, tt.stop)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fakeRun runs the engine under synctest with a fake transport whose
// latency is answer(sentAt).
func fakeRun(t *testing.T, phases []sim.Phase, answer func(elapsed time.Duration) time.Duration) (*report.Summary, []sim.Record) {
	t.Helper()
	start := time.Now()
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		time.Sleep(answer(time.Since(start)))
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})}
	s, recs, err := collectRun(t.Context(), sim.Config{URL: "http://recv.test/hook", Client: client, Events: gen(t, 0),
		Phases: phases, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	return s, recs
}

func TestConstantScheduleUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, recs := fakeRun(t, []sim.Phase{{Rate: sim.Rate{Freq: 10, Per: time.Second}, Duration: 3 * time.Second}},
			func(time.Duration) time.Duration { return 20 * time.Millisecond })
		if s.Events != 30 || len(recs) != 30 {
			t.Fatalf("sent %d in 3s at 10/s (%d records), want 30", s.Events, len(recs))
		}
		for i := 1; i < len(recs); i++ {
			if gap := recs[i].Intended.Sub(recs[i-1].Intended); gap != 100*time.Millisecond {
				t.Errorf("gap %d = %v, want 100ms", i, gap)
			}
		}
		if s.SenderLag.MaxMS > 0.001 || s.TargetRate != 10 || s.AchievedRate != 10 {
			t.Errorf("sender lag max %vms, target %v/s, achieved %v/s; want 0, 10, 10", s.SenderLag.MaxMS, s.TargetRate, s.AchievedRate)
		}
	})
}

func TestPoissonScheduleUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, recs := fakeRun(t, []sim.Phase{{Rate: sim.Rate{Freq: 100, Per: time.Second}, Arrival: sim.Poisson, Duration: 20 * time.Second}},
			func(time.Duration) time.Duration { return time.Millisecond })
		// 2000 expected; a Poisson count has sd √2000 ≈ 45.
		if s.Events < 1850 || s.Events > 2150 {
			t.Fatalf("sent %d in 20s at poisson 100/s, want about 2000", s.Events)
		}
		var short, equal int
		for i := 1; i < len(recs); i++ {
			gap := recs[i].Intended.Sub(recs[i-1].Intended)
			if gap < 10*time.Millisecond {
				short++
			}
			if gap == 10*time.Millisecond {
				equal++
			}
		}
		// Exponential gaps with mean 10ms: P(gap < mean) = 1 - 1/e ≈ 0.63.
		if frac := float64(short) / float64(len(recs)-1); frac < 0.58 || frac > 0.68 || equal > len(recs)/10 {
			t.Errorf("%.2f of gaps below the mean (want ≈0.63), %d exactly equal: not exponential", frac, equal)
		}
	})
}

func TestPhasesRunInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := fakeRun(t, []sim.Phase{
			{Rate: sim.Rate{Freq: 10, Per: time.Second}, Duration: 2 * time.Second},
			{Rate: sim.Rate{Freq: 100, Per: time.Second}, Count: 50},
		}, func(time.Duration) time.Duration { return time.Millisecond })
		if s.Events != 70 {
			t.Errorf("sent %d, want 20 + 50", s.Events)
		}
	})
}

// firstSends are the intended times of each phase's first attempts, as
// offsets from start, in order.
func firstSends(recs []sim.Record, start time.Time) map[int][]time.Duration {
	out := map[int][]time.Duration{}
	for _, r := range recs {
		if r.Attempt == 1 && !r.Duplicate {
			out[r.Phase] = append(out[r.Phase], r.Intended.Sub(start))
		}
	}
	for _, at := range out {
		slices.Sort(at)
	}
	return out
}

// TestPhaseLastsItsDuration is scenarios/backlog-flush.yaml: a phase with a
// duration lasts all of it, so the next phase's first event is due exactly
// one duration after the previous phase started, not right after its last
// event (which would run the sender at twice the rate across the boundary).
func TestPhaseLastsItsDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		_, recs := fakeRun(t, []sim.Phase{
			{Rate: sim.Rate{Freq: 10, Per: time.Second}, Duration: 3 * time.Second},
			{Rate: sim.Rate{Freq: 200, Per: time.Second}, Duration: 3 * time.Second},
			{Rate: sim.Rate{Freq: 10, Per: time.Second}, Duration: 3 * time.Second},
		}, func(time.Duration) time.Duration { return 20 * time.Millisecond })
		ended := time.Since(start)
		at := firstSends(recs, start)
		for i, want := range []struct {
			n           int
			first, last time.Duration
		}{
			{30, 0, 2900 * time.Millisecond},
			{600, 3 * time.Second, 5995 * time.Millisecond},
			{30, 6 * time.Second, 8900 * time.Millisecond},
		} {
			got := at[i]
			if len(got) != want.n || got[0] != want.first || got[len(got)-1] != want.last {
				t.Errorf("phase %d: %d events intended from %v to %v; want %d from %v to %v",
					i, len(got), got[0], got[len(got)-1], want.n, want.first, want.last)
			}
		}
		if ended < 9*time.Second {
			t.Errorf("the run ended %v after its start; the last phase lasts its 3s too (9s in all)", ended)
		}
	})
}

// TestPoissonPhaseLastsItsDuration: a poisson phase too lasts its duration
// whenever its last gap ends; a count phase ends with its last event; a
// phase with both a count and a duration ends at whichever comes first.
func TestPoissonPhaseLastsItsDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		_, recs := fakeRun(t, []sim.Phase{
			{Rate: sim.Rate{Freq: 20, Per: time.Second}, Arrival: sim.Poisson, Duration: 2 * time.Second},
			{Rate: sim.Rate{Freq: 10, Per: time.Second}, Count: 5},                          // 2.0 … 2.4s
			{Rate: sim.Rate{Freq: 10, Per: time.Second}, Count: 3, Duration: time.Second},   // the count first: 2.4 … 2.6s
			{Rate: sim.Rate{Freq: 10, Per: time.Second}, Count: 100, Duration: time.Second}, // the duration first: 2.6 … 3.5s
			{Rate: sim.Rate{Freq: 10, Per: time.Second}, Count: 1},                          // 3.6s
		}, func(time.Duration) time.Duration { return time.Millisecond })
		at := firstSends(recs, start)
		poisson := at[0]
		if len(poisson) < 20 || poisson[len(poisson)-1] >= 2*time.Second {
			t.Fatalf("poisson phase: %d events, the last at %v; want about 40 before 2s", len(poisson), poisson[len(poisson)-1])
		}
		if gap := 2*time.Second - poisson[len(poisson)-1]; gap < time.Microsecond {
			t.Fatalf("the poisson phase's last event is due %v before 2s; the test needs a gap to see", gap)
		}
		ms := time.Millisecond
		for i, want := range [][]time.Duration{
			1: {2000 * ms, 2100 * ms, 2200 * ms, 2300 * ms, 2400 * ms},
			2: {2400 * ms, 2500 * ms, 2600 * ms},
			4: {3600 * ms},
		} {
			if want != nil && !slices.Equal(at[i], want) {
				t.Errorf("phase %d intended at %v, want %v", i, at[i], want)
			}
		}
		if got := at[3]; len(got) != 10 || got[0] != 2600*ms || got[9] != 3500*ms {
			t.Errorf("phase 3: %d events from %v, want 10 from 2.6s to 3.5s", len(got), got)
		}
	})
}

func TestStallDoesNotDelaySchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stallFrom, stallTo := time.Second, 2*time.Second
		s, recs := fakeRun(t, []sim.Phase{{Rate: sim.Rate{Freq: 10, Per: time.Second}, Duration: 3 * time.Second}},
			func(at time.Duration) time.Duration {
				if at >= stallFrom && at < stallTo {
					return stallTo - at // the server answers nothing until the stall ends
				}
				return 5 * time.Millisecond
			})
		if s.Events != 30 {
			t.Fatalf("sent %d, want 30: the stall must not delay the schedule", s.Events)
		}
		start := recs[0].Intended
		for _, r := range recs {
			if r.SendError() != 0 {
				t.Errorf("event %d left %v late", r.IEvent, r.SendError())
			}
			at := r.Intended.Sub(start)
			if at >= stallFrom && at < stallTo {
				if want := stallTo - at; r.Latency() != want {
					t.Errorf("event %d intended at %v: latency %v, want %v (includes the stall)", r.IEvent, at, r.Latency(), want)
				}
			}
		}
		if s.Latency.MaxMS < 999 {
			t.Errorf("max latency %vms, want the 1s stall", s.Latency.MaxMS)
		}
	})
}

func TestMaxInFlightCapIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			time.Sleep(time.Second)
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
		})}
		s, _, err := collectRun(t.Context(), sim.Config{URL: "http://recv.test/", Client: client, Events: gen(t, 0), MaxInFlight: 2,
			Phases: []sim.Phase{{Rate: sim.Rate{Freq: 10, Per: time.Second}, Count: 10}}})
		if err != nil {
			t.Fatal(err)
		}
		if s.CapBound == 0 || s.MaxInFlight != 2 {
			t.Errorf("cap bound %d times (max %d), want it reported", s.CapBound, s.MaxInFlight)
		}
		if s.Latency.MaxMS < 4000 {
			t.Errorf("max latency %vms: the wait for a slot must count from the intended time", s.Latency.MaxMS)
		}
	})
}
