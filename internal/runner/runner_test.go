package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/term"
)

func load(t testing.TB, name string, src []byte) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Parse(name, src)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return s
}

// planned is how long a scenario's schedule lasts, at the least.
func planned(s *scenario.Scenario) time.Duration {
	var d time.Duration
	for _, p := range s.Phases {
		if p.Duration > 0 {
			d += p.Duration
		} else if r := p.Rate.PerSecond(); r > 0 {
			d += time.Duration(float64(p.Count) / r * float64(time.Second))
		}
	}
	return d
}

// forever bounds a wait in a test that must not depend on this machine's
// speed: in effect no bound but the test's own -timeout.
const forever = 24 * time.Hour

// untimed makes a scenario's waits for the Application's status calls
// end only when they are all in, not after a wall-clock window: the
// expectations then measure the run, not this machine's speed.
func untimed(s *scenario.Scenario) {
	if s.API != nil {
		s.API.Wait = forever
	}
}

// timing reports whether an expectation bounds a time or a rate, which
// depends on the machine that runs the scenario: latencies, times to
// delivery, and the achieved send rate.
func timing(m scenario.Metric) bool {
	return m.Kind == scenario.Duration || m.Key == "rate_error"
}

// shipped is a shipped scenario and its file name.
type shipped struct {
	name string
	s    *scenario.Scenario
}

// shippedScenarios are the short shipped scenarios that use the built-in
// receiver (the template needs a user's Application; the soak lasts an
// hour), in file name order.
func shippedScenarios(tb testing.TB) []shipped {
	tb.Helper()
	files, _ := filepath.Glob("../../scenarios/*.yaml")
	var out []shipped
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		s := load(tb, f, src)
		if s.Target != nil || planned(s) > 30*time.Second {
			continue
		}
		s.Report = scenario.Report{} // write no files from tests
		untimed(s)
		out = append(out, shipped{filepath.Base(f), s})
	}
	if len(out) < 5 {
		tb.Fatalf("%d short shipped scenarios with the built-in receiver, want at least 5", len(out))
	}
	return out
}

// TestShippedScenariosRun runs every short shipped scenario that uses the
// built-in receiver, end to end over loopback: each runs to completion,
// every expectation is evaluated (measured, with an outcome), and every
// expectation that does not bound a time or a rate holds. Whether this
// machine meets a scenario's latency or rate bounds is not a test's verdict:
// BenchmarkShippedScenarios reports those figures.
func TestShippedScenariosRun(t *testing.T) {
	for _, sc := range shippedScenarios(t) {
		s := sc.s
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Run(context.Background(), s, Options{})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Interrupted() || len(res.Outcomes) != len(s.Expect) {
				t.Fatalf("interrupted %t, %d outcomes for %d expectations: want the run to complete and evaluate every one",
					res.Interrupted(), len(res.Outcomes), len(s.Expect))
			}
			for i, o := range res.Outcomes {
				if o.Expectation.Metric.Key != s.Expect[i].Metric.Key {
					t.Errorf("outcome %d is for %s, want %s (in the scenario's order)", i, o.Expectation.Metric.Key, s.Expect[i].Metric.Key)
				}
				switch {
				case !o.Measured:
					t.Errorf("expectation %s was not measured", o.Expectation)
				case timing(o.Expectation.Metric):
					t.Logf("expectation %s: measured %s, pass %t (a figure of this machine; not asserted)", o.Expectation, o.ActualText(), o.Pass)
				case !o.Pass:
					t.Errorf("expectation %s failed, measured %s", o.Expectation, o.ActualText())
				}
			}
			if res.Receiver == nil || res.Receiver.FirstDelivered != res.Summary.Events {
				t.Errorf("built-in receiver first-delivered %+v events, sender sent %d", res.Receiver, res.Summary.Events)
			}
		})
	}
}

// BenchmarkShippedScenarios runs each short shipped scenario and reports
// the figures its expectations bound in time or rate (p99, rate_error, …)
// as this machine measured them, with whether they met the scenario's
// bound (1 met, 0 not):
//
//	go test -run '^$' -bench ShippedScenarios -benchtime 1x ./internal/runner
func BenchmarkShippedScenarios(b *testing.B) {
	for _, sc := range shippedScenarios(b) {
		s := sc.s
		b.Run(sc.name, func(b *testing.B) {
			for b.Loop() {
				res, err := Run(context.Background(), s, Options{})
				if err != nil {
					b.Fatal(err)
				}
				for _, o := range res.Outcomes {
					if !timing(o.Expectation.Metric) || !o.Measured {
						continue
					}
					unit := o.Expectation.Metric.Key
					v := o.Actual
					if o.Expectation.Metric.Kind == scenario.Duration {
						unit, v = unit+"_ms", v*1000
					}
					met := 0.0
					if o.Pass {
						met = 1
					}
					b.ReportMetric(v, unit)
					b.ReportMetric(met, o.Expectation.Metric.Key+"_met")
				}
			}
		})
	}
}

// A receiver that rejects every event with a 4xx makes the ESPF drop them:
// the expectations say so, with the measured values.
func TestExpectationsFail(t *testing.T) {
	s := load(t, "drop.yaml", []byte(`version: 1
auth: {scheme: basic, user: u, password: p}
receiver:
  auth: {scheme: basic, user: u, password: other}
phases: [{rate: 50/s, count: 10}]
delivery: {timeout: 2s}
expect:
  delivered: 100%
  dropped: 0
  error_rate: "< 1%"
`))
	res, err := Run(context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pass() {
		t.Fatal("Pass() = true for a receiver that rejects every credential")
	}
	want := map[string]float64{"delivered": 0, "dropped": 10, "error_rate": 1}
	for _, o := range res.Outcomes {
		if o.Pass || !o.Measured || o.Actual != want[o.Expectation.Metric.Key] {
			t.Errorf("%s: pass=%t measured=%t actual=%v, want a failure measuring %v", o.Expectation, o.Pass, o.Measured, o.Actual, want[o.Expectation.Metric.Key])
		}
	}
	if res.Receiver.AuthFailures != 10 {
		t.Errorf("receiver auth failures = %d, want 10", res.Receiver.AuthFailures)
	}
}

// An explicit list is sent in order, with its own variables, and the
// results file gets one JSON line per attempt.
func TestEventListAndResults(t *testing.T) {
	s := load(t, "list.yaml", []byte(`version: 1
auth: {scheme: custom, name: Plain, credentials: pass}
events:
  first_event: 7615
  list:
    - {event_type: Subscriber/Created, variables: {i_account: 1000889}}
    - {event_type: DID/Created, variables: {number: "15551234"}}
phases: [{rate: 20/s, count: 2}]
expect: {delivered: 100%}
`))
	var results bytes.Buffer
	res, err := Run(context.Background(), s, Options{Results: &results})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pass() || res.Summary.Events != 2 {
		t.Fatalf("pass=%t events=%d, want a pass with 2 events", res.Pass(), res.Summary.Events)
	}
	lines := strings.Split(strings.TrimSpace(results.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"i_event":7615`) || !strings.Contains(results.String(), `"event_type":"DID/Created"`) {
		t.Errorf("results file:\n%s\nwant 2 attempts, the first i_event 7615", results.String())
	}
	if res.Series == nil || len(res.Series.Buckets) == 0 {
		t.Error("no time series for the HTML report")
	}
}

// With the API mock but an Application that never reports, the statuses
// expectation fails with 0%.
func TestStatusesMissing(t *testing.T) {
	s := load(t, "silent.yaml", []byte(`version: 1
auth: {scheme: basic, user: u, password: p}
api: {wait: 100ms}
phases: [{rate: 50/s, count: 5}]
expect: {statuses: 50%}
`))
	res, err := Run(context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Outcomes[0]
	if o.Pass || !o.Measured || o.Actual != 0 {
		t.Errorf("statuses: pass=%t measured=%t actual=%v, want a failure measuring 0", o.Pass, o.Measured, o.Actual)
	}
}

// An interrupted run still returns what was sent, and does not pass.
func TestInterrupted(t *testing.T) {
	s := load(t, "long.yaml", []byte(`version: 1
auth: {scheme: basic, user: u, password: p}
phases: [{rate: 20/s, duration: 1h}]
expect: {delivered: 100%}
`))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	res, err := Run(ctx, s, Options{ProgressEvery: 100 * time.Millisecond, Progress: func(p sim.Snapshot) {
		if p.Delivered > 0 {
			once.Do(cancel)
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run() error = %v, want context.Canceled", err)
	}
	if res == nil || !res.Interrupted() || res.Pass() || res.Summary.Events == 0 {
		t.Fatalf("result %+v: want an interrupted, failed run with the events sent so far", res)
	}
}

// TestRetriedScenarioAtTheReceiver runs a scenario whose built-in receiver
// fails every event's first two deliveries: with jitter: 0 every re-send is
// planned exactly retry_interval after the answer before it and leaves no
// earlier (the results records say so); with jitter: 20% the waits spread.
func TestRetriedScenarioAtTheReceiver(t *testing.T) {
	for _, jitter := range []string{"0", "20%"} {
		t.Run("jitter="+jitter, func(t *testing.T) {
			t.Parallel()
			s := load(t, "retried.yaml", []byte(`version: 1
auth: {scheme: basic, user: u, password: p}
receiver: {faults: {fail_first: 2, fail_status: 503}}
phases: [{rate: 50/s, count: 5}]
delivery: {retry_interval: 150ms, backoff: fixed, jitter: `+jitter+`, max_attempts: 4, timeout: 5s}
expect: {delivered: 100%, processed_twice: 0}
`))
			var results bytes.Buffer
			res, err := Run(context.Background(), s, Options{Results: &results})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Pass() || res.Summary.Outcomes.DeliveredAfterRetry != 5 || res.Receiver.FirstDelivered != 5 {
				t.Fatalf("pass=%t outcomes %+v receiver %+v; want 5 events delivered on their third attempt",
					res.Pass(), res.Summary.Outcomes, res.Receiver)
			}
			answered := map[int64]time.Time{}
			var waits []time.Duration
			lo, hi := time.Hour, time.Duration(0) // when the re-sends actually left, for the log
			err = sim.ReadRecords(&results, "results", func(r *sim.Record) {
				if r.Attempt > 1 {
					waits = append(waits, r.Intended.Sub(answered[r.IEvent]))
					lo, hi = min(lo, r.Sent.Sub(answered[r.IEvent])), max(hi, r.Sent.Sub(answered[r.IEvent]))
					if r.Sent.Before(r.Intended) {
						t.Errorf("event %d attempt %d sent %v before its intended time", r.IEvent, r.Attempt, r.Intended.Sub(r.Sent))
					}
				}
				answered[r.IEvent] = r.Answered
			})
			if err != nil || len(waits) != 10 {
				t.Fatalf("%d re-sends (%v), want 10", len(waits), err)
			}
			t.Logf("jitter %s: planned %v after the answer; sent %v to %v after it", jitter, waits, lo, hi)
			exact := 0
			for _, w := range waits {
				if w == 150*time.Millisecond {
					exact++
				}
			}
			if jitter == "0" && exact != len(waits) {
				t.Errorf("jitter 0: re-sends planned %v after the answer; want exactly 150ms each", waits)
			}
			if jitter != "0" && exact == len(waits) {
				t.Errorf("jitter 20%%: every re-send exactly 150ms after the answer; want spread")
			}
		})
	}
}

// TestLifecycleAPIOverTLS: a lifecycle run with the PortaBilling mock over
// HTTPS (its CA written to a file) and a login: the built-in receiver logs
// in and reports every account's status through it, every entity is in the
// mock, and the receiver's final state matches.
func TestLifecycleAPIOverTLS(t *testing.T) {
	t.Parallel()
	ca := filepath.Join(t.TempDir(), "api-ca.pem")
	s := load(t, "tls.yaml", []byte(`version: 1
auth: {scheme: basic, user: u, password: p}
receiver:
  faults: {fail_rate: 30%, seed: 3}
  report_status: {status: OK, group: HSS}
events:
  lifecycle: {entities: 40, active: 4, groups: [Subscriber, DID]}
phases: [{rate: 100/s, duration: 10s}]
delivery: {retry_interval: 100ms, backoff: fixed, max_attempts: 10}
api:
  login: app
  password: api-pw
  tls_self_signed: true
  ca_out: `+ca+`
  wait: 1h                # ends once every status is in: no wall-clock window
expect:
  final_state: 100%
  statuses: 100%
`))
	res, err := Run(context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Outcomes {
		if !o.Pass {
			t.Errorf("expectation %s failed, measured %s", o.Expectation, o.ActualText())
		}
	}
	if !strings.HasPrefix(res.APIURL, "https://127.0.0.1:") {
		t.Errorf("API mock at %s, want https", res.APIURL)
	}
	if b, err := os.ReadFile(ca); err != nil || !bytes.Contains(b, []byte("BEGIN CERTIFICATE")) {
		t.Errorf("CA file: %v", err)
	}
	calls := map[string]int64{}
	for _, c := range res.Summary.APICalls {
		calls[c.Method] = c.Calls
	}
	if calls["Session/login"] != 1 || calls["espf/v1 account status"] == 0 || res.Summary.APIEntities != 40 {
		t.Errorf("calls %v, entities %d: want one login, the statuses, and all 40 entities in the mock", calls, res.Summary.APIEntities)
	}
	// report.html shows the same figures as the text and JSON reports
	var page bytes.Buffer
	if err := report.RunHTML(&page, res); err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	if sum.Reordered == nil || sum.FinalState == nil {
		t.Fatalf("a lifecycle run's summary without reordered (%v) or final_state (%v)", sum.Reordered, sum.FinalState)
	}
	for _, want := range []string{
		"<h2>Order (entity lifecycles)</h2>", fmt.Sprintf(`<th>reordered events</th><td class="num">%d</td>`, sum.Reordered.Events),
		"<h2>Final state (--state-url)</h2>", fmt.Sprintf(`<th>checked</th><td class="num">%d</td>`, sum.FinalState.Checked),
		fmt.Sprintf(`<th>match</th><td class="num">%d</td>`, sum.FinalState.Match),
		"<h2>PortaBilling API mock (calls)</h2>", `<td>Session/login</td><td class="num">1</td>`,
		fmt.Sprintf(`<td>espf/v1 account status</td><td class="num">%d</td>`, calls["espf/v1 account status"]),
		`<th>entities held</th><td class="num">40</td>`,
	} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("the run's HTML report lacks %q", want)
		}
	}
}

// TestProvisioningStatusReport runs scenarios/provisioning-status.yaml:
// report.html shows every account's status, group, calls and time after
// delivery as the text report prints them.
func TestProvisioningStatusReport(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../scenarios/provisioning-status.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := load(t, "provisioning-status.yaml", src)
	s.Report = scenario.Report{}
	untimed(s) // 40 statuses, however long this machine takes
	res, err := Run(context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var page, text bytes.Buffer
	if err := report.RunHTML(&page, res); err != nil {
		t.Fatal(err)
	}
	if err := report.RunText(&text, res, term.Layout{}); err != nil {
		t.Fatal(err)
	}
	accts := res.Summary.Accounts
	if len(accts) != 40 || !strings.Contains(page.String(), "<h2>Provisioning status (ESPF API)</h2>") {
		t.Fatalf("%d accounts reported, want 40 and the page's provisioning-status section", len(accts))
	}
	for _, a := range accts {
		if a.SinceDeliveryMS == nil {
			t.Fatalf("account %s: no time after delivery", a.Account)
		}
		// the figure as the text report prints it: "20.604ms after delivery"
		line := fmt.Sprintf("account\t%s\t%s\t%s\t%d calls\t", a.Account, a.Status, a.Group, a.Calls)
		i := strings.Index(text.String(), line)
		if i < 0 {
			t.Fatalf("the text report lacks %q", line)
		}
		since, _, _ := strings.Cut(text.String()[i+len(line):], " after delivery")
		row := fmt.Sprintf(`<tr><td>%s</td><td>%s</td><td>%s</td><td class="num">%d</td><td class="num">%s</td></tr>`, a.Account, a.Status, a.Group, a.Calls, since)
		if !strings.Contains(page.String(), row) {
			t.Errorf("the run's HTML report lacks %q", row)
		}
	}
	if strings.Contains(page.String(), "api calls rejected") {
		t.Error("no status call was refused, yet the page shows api calls rejected")
	}
}

// Without receiver.journal the built-in receiver journals to a scratch
// file under the temporary directory while the run lasts, and nothing of
// it is left afterwards.
func TestScratchJournalRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s := load(t, "scratch.yaml", []byte(`version: 1
auth: {scheme: basic, user: u, password: p}
phases: [{rate: 100/s, count: 20}]
delivery: {duplicates: 50%}
expect: {delivered: 100%, processed_twice: 0, unjournaled: 0, duplicates_ok: 100%}
`))
	var during []string
	res, err := Run(context.Background(), s, Options{ProgressEvery: 50 * time.Millisecond, Progress: func(sim.Snapshot) {
		if during == nil {
			during, _ = filepath.Glob(filepath.Join(tmp, "espfctl-run-*", "journal.db"))
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pass() || res.Receiver.FirstDelivered != 20 {
		t.Fatalf("pass=%t receiver %+v outcomes %+v; want every expectation to hold, 20 events first-delivered", res.Pass(), res.Receiver, res.Outcomes)
	}
	if len(during) != 1 {
		t.Errorf("journal files under TMPDIR during the run: %v, want one", during)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in TMPDIR after the run: %v", left)
	}
}

// unjournaled counts the events the sender saw answered 200 that the
// journal does not hold, whatever their number.
func TestUnjournaledCount(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	s := load(t, "count.yaml", []byte(`version: 1
auth: {scheme: basic, user: u, password: p}
phases: [{rate: 1/s, count: 1}]
`))
	b, err := startBuiltin(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.stop()
	var delivered idSet
	for id := int64(1); id <= 10_000; id++ {
		delivered.add(id)
	}
	for _, id := range []int64{3, 9_999, 10_001} { // two the sender saw, one it did not
		if _, err := b.journal.Commit(journal.Record{Time: time.Now(), IEvent: &id, Type: "Account/Created",
			Variables: []byte(`{}`), AuthScheme: "basic", Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	_, twice, missing, err := b.finish(context.Background(), &delivered)
	if err != nil || twice != 0 || missing != 9_998 {
		t.Fatalf("finish: processed twice %d, unjournaled %d, %v; want 0 and 9998", twice, missing, err)
	}
}
