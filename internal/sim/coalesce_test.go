package sim_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sim"
)

func replay(t *testing.T, lines ...string) event.Source {
	t.Helper()
	return event.NewReplay(strings.NewReader(strings.Join(lines, "\n")), "test", 1)
}

// TestCoalescing: for a coalesced type, a newly emitted event supersedes an
// older one of the same account that waits for a re-send; other types, and
// the same type for another account, are not touched; --no-coalesce sends
// every one.
func TestCoalescing(t *testing.T) {
	lines := []string{
		`{"event_type":"Account/Service/QuotaExceeded","variables":{"i_account":5,"i_event":1}}`,
		`{"event_type":"Account/Service/QuotaExceeded","variables":{"i_account":5,"i_event":2}}`,
		`{"event_type":"Account/Service/QuotaExceeded","variables":{"i_account":6,"i_event":3}}`,
		`{"event_type":"Account/Service/QuotaExceeded","variables":{"i_account":5,"i_event":4}}`,
		`{"event_type":"Subscriber/Updated","variables":{"i_account":5,"i_event":5}}`,
		`{"event_type":"Subscriber/Updated","variables":{"i_account":5,"i_event":6}}`,
	}
	for _, coalesce := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			d := sim.DefaultDelivery()
			d.Coalesce = coalesce
			d.Retry = sim.Retry{Interval: 400 * time.Millisecond, Backoff: sim.Fixed, MaxAttempts: 4}
			cfg, err := sim.NewConfig([]sim.Phase{{Rate: sim.DefaultRate}}, d, 1)
			if err != nil {
				t.Fatal(err)
			}
			// every event fails once; events come 100 ms apart, re-sends 400 ms later
			cfg.URL, cfg.Client, cfg.Events = "http://recv.test/", failFirst(1, 3*time.Millisecond), replay(t, lines...)
			s, recs, err := collectRun(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			final := map[int64]espf.Outcome{}
			for _, r := range recs {
				final[r.IEvent] = r.Outcome
			}
			want := map[int64]espf.Outcome{1: espf.Superseded, 2: espf.Superseded, 3: espf.Delivered, 4: espf.Delivered, 5: espf.Delivered, 6: espf.Delivered}
			if !coalesce {
				want[1], want[2] = espf.Delivered, espf.Delivered
			}
			for id, o := range want {
				if final[id] != o {
					t.Errorf("coalesce %t: i_event %d ended %s, want %s", coalesce, id, final[id], o)
				}
			}
			wantSup := map[bool]int64{true: 2, false: 0}[coalesce]
			if s.Outcomes.Superseded != wantSup || !s.AllDelivered() || s.Attempts != 12-wantSup {
				t.Errorf("coalesce %t: superseded %d, all delivered %t, attempts %d", coalesce, s.Outcomes.Superseded, s.AllDelivered(), s.Attempts)
			}
		})
	}
}

// TestOnEmitBeforeDelivery: the emission hook has run for every event
// before its first request leaves, so PortaBilling's side already holds
// the change when the Application reads it back.
func TestOnEmitBeforeDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		emitted := map[string]bool{}
		early := 0
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			if !emitted[string(b)] {
				early++
			}
			mu.Unlock()
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
		})}
		l, err := event.NewLifecycle(event.LifecycleConfig{Entities: 20})
		if err != nil {
			t.Fatal(err)
		}
		cfg := sim.Config{URL: "http://recv.test/", Client: client, Events: l, Phases: []sim.Phase{{Rate: sim.Rate{Freq: 100, Per: time.Second}}},
			OnEmit: func(it event.Item) { mu.Lock(); emitted[string(it.Body)] = true; mu.Unlock() }}
		s, _, err := collectRun(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if early != 0 || int64(len(emitted)) != s.Events || s.Events < 40 {
			t.Errorf("%d of %d events reached the Application before their emission hook (%d emitted)", early, s.Events, len(emitted))
		}
	})
}

// TestEntitiesReordered: an Application that fails every Created once gets
// each entity's later events first; the tracker counts it by kind and,
// without keep, forgets every finished entity.
func TestEntitiesReordered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		failed := map[string]bool{}
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			b, _ := io.ReadAll(r.Body)
			ev, _ := event.Decode(b)
			status := 200
			mu.Lock()
			if strings.HasSuffix(ev.Type, "/Created") && !failed[ev.Entity()] {
				failed[ev.Entity()], status = true, 503
			}
			mu.Unlock()
			return &http.Response{StatusCode: status, Body: http.NoBody, Request: r}, nil
		})}
		l, err := event.NewLifecycle(event.LifecycleConfig{Entities: 200, Active: 3, UpdatesMin: 2, UpdatesMax: 3, Deleted: 0.5, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		d := sim.DefaultDelivery()
		d.Retry = sim.Retry{Interval: 500 * time.Millisecond, Backoff: sim.Fixed, MaxAttempts: 3}
		cfg, _ := sim.NewConfig([]sim.Phase{{Rate: sim.Rate{Freq: 20, Per: time.Second}}}, d, 1)
		ents := sim.NewEntities(false)
		cfg.URL, cfg.Client, cfg.Events, cfg.Sink, cfg.OnEmit = "http://recv.test/", client, l, ents, ents.Emitted
		s, _, err := collectRun(t.Context(), cfg)
		if err != nil || !s.AllDelivered() {
			t.Fatalf("run: %v, all delivered %t", err, s.AllDelivered())
		}
		r := ents.Reordered()
		if r.Entities < 50 || r.ByKind[entity.UpdateBeforeCreate] == 0 || r.ByKind[entity.CreateAfterDelete] == 0 || r.Events < r.Entities {
			t.Errorf("reordered %+v: want many entities, Created after Updated and after Deleted", r)
		}
		if n := ents.Len(); n != 0 {
			t.Errorf("the tracker still holds %d finished entities", n)
		}
	})
}

// TestEntitiesForgetOutOfOrder: answers come back in any order (the last
// event's first); an entity is forgotten once every event emitted for it
// has finished, never before.
func TestEntitiesForgetOutOfOrder(t *testing.T) {
	t.Parallel()
	ents := sim.NewEntities(false)
	items := []event.Item{
		{IEvent: 1, Type: "Subscriber/Created", Entity: "i_account=5"},
		{IEvent: 2, Type: "Subscriber/Updated", Entity: "i_account=5"},
		{IEvent: 3, Type: "Subscriber/Deleted", Entity: "i_account=5", Last: true},
	}
	for _, it := range items {
		ents.Emitted(it)
	}
	for i, n := range []int{2, 0, 1} {
		it := items[n]
		ents.Record(&sim.Record{IEvent: it.IEvent, EventType: it.Type, Entity: it.Entity, Attempt: 1, Outcome: espf.Delivered, Last: it.Last})
		if want := map[bool]int{true: 0, false: 1}[i == 2]; ents.Len() != want {
			t.Fatalf("after %d of 3 answers the tracker holds %d entities, want %d", i+1, ents.Len(), want)
		}
	}
	if r := ents.Reordered(); r.Events != 2 || r.ByKind[entity.CreateAfterDelete] != 1 || r.ByKind[entity.UpdateAfterDelete] != 1 {
		t.Errorf("reordered %+v", r)
	}
}
