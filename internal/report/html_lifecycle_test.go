package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/scenario"
)

// hostile is text from outside (an entity id from a replayed file, a
// method name from the Application's request path) that would be markup
// if it reached the page as it is.
const hostile = `<b id="forged">x</b>&amp;<script>document.title="owned"</script>`

// lifecycleRun is a finished lifecycle run whose Application applies events
// in the order they arrive and reads entities back from the PortaBilling
// API mock. Its figures are those such runs print (`espfctl run
// scenarios/lifecycle.yaml`, TestLifecycleArrivalOrderFails,
// TestLifecycleAPIOverTLS); one entity id, its words and one API method
// name are hostile.
func lifecycleRun() *Run {
	start := time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)
	sum := &Summary{Start: start, End: start.Add(4 * time.Second), Events: 188, Attempts: 258, TargetRate: 50, AchievedRate: 50,
		Outcomes: Outcomes{DeliveredFirstTry: 136, DeliveredAfterRetry: 52}, ByAnswer: map[string]int64{"200": 188, "503": 70},
		TimeToDelivery: Quantiles{Count: 188, P50MS: 8.4, P99MS: 913.4, MaxMS: 968.2},
		Reordered: &entity.Reordered{Entities: 24, Events: 26, ByKind: map[entity.Kind]int64{
			entity.UpdateBeforeCreate: 12, entity.CreateAfterDelete: 1, entity.UpdateAfterDelete: 3, entity.UpdateAfterUpdate: 10}},
		FinalState: &entity.FinalState{Checked: 60, Match: 57, Mismatch: 2, Errors: 1, Unknown: 4, Truncated: 0, Mismatches: []entity.Mismatch{
			{Entity: "customer/1000001", Words: "emitted Created 4, Updated 6, Updated 7, Deleted 16; Updated 6 delivered, Updated 7 delivered, Deleted 16 delivered, then Created 4 re-sent and delivered: the Application shows it existing (i_event 4), expected deleted (i_event 16): a deleted entity brought back"},
			{Entity: "did/" + hostile, Words: "emitted Created 21 " + hostile + "; Created 21 delivered: the Application shows it absent, expected existing (i_event 21): an existing entity lost"},
			{Entity: "subscriber/1000009", Words: "the state URL answered 500"},
		}},
		APICalls: []espfapi.MethodCalls{{Method: "Account/get_account_info", Calls: 37, Faults: 2}, {Method: "Session/login", Calls: 1},
			{Method: hostile, Calls: 3, Faults: 3}, {Method: espfapi.StatusMethod, Calls: 40}},
		APIEntities: 40,
	}
	return &Run{Scenario: &scenario.Scenario{Name: "lifecycle", File: "scenarios/lifecycle.yaml"}, Start: start, Elapsed: 4 * time.Second,
		URL: "http://127.0.0.1:8080/", Builtin: true, Summary: sum}
}

// plainRun is a run with no lifecycle and no API mock: quickstart's kind.
func plainRun() *Run {
	r := lifecycleRun()
	s := *r.Summary
	s.Reordered, s.FinalState, s.APICalls, s.APIEntities = nil, nil, nil, 0
	r.Summary = &s
	return r
}

var lifecycleHeadings = []string{"<h2>Order (entity lifecycles)</h2>", "<h2>Final state (--state-url)</h2>", "<h2>PortaBilling API mock (calls)</h2>"}

// TestHTMLLifecycleSections: the page has the order, final-state and API
// sections with the run's figures, the hostile text in them is escaped
// (no element, no script), and a run without lifecycles or API mock has
// none of the three.
func TestHTMLLifecycleSections(t *testing.T) {
	var buf bytes.Buffer
	if err := RunHTML(&buf, lifecycleRun()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range append(lifecycleHeadings,
		`<th>reordered events</th><td class="num">26</td>`,
		`<th class="part">Updated delivered before the Created</th><td class="num">12</td>`,
		`<th>mismatch</th><td class="num badnum">2</td>`,
		`<th>unreadable</th><td class="num badnum">1</td>`,
		`<td><span class="sw bad"></span>customer/1000001</td><td>emitted Created 4,`,
		`<td>Account/get_account_info</td><td class="num">37</td><td class="num badnum">2</td>`,
		`<th>entities held</th><td class="num">40</td>`,
		`did/&lt;b id=&#34;forged&#34;&gt;x&lt;/b&gt;&amp;amp;&lt;script&gt;`,
		`<td>&lt;b id=&#34;forged&#34;&gt;x&lt;/b&gt;&amp;amp;&lt;script&gt;document.title=&#34;owned&#34;&lt;/script&gt;</td><td class="num">3</td>`) {
		if !strings.Contains(out, want) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	for _, banned := range []string{`<b id="forged">`, "<script"} {
		if strings.Contains(out, banned) {
			t.Errorf("hostile text reached the page as markup: %q", banned)
		}
	}

	buf.Reset()
	if err := RunHTML(&buf, plainRun()); err != nil {
		t.Fatal(err)
	}
	for _, h := range append(lifecycleHeadings, "reordered events", "entities held") {
		if strings.Contains(buf.String(), h) {
			t.Errorf("a run without lifecycles or API mock shows %q", h)
		}
	}
}
