package report

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/testutil"
)

// statusRun is a finished provisioning-status run: its figures are those
// `espfctl run scenarios/provisioning-status.yaml` prints (40 accounts
// reported OK/HSS about 20 ms after delivery), plus what an Application
// that reports badly adds: an account still IN_PROGRESS (no final status,
// so no time after delivery), one FAILED after two calls, and status calls
// the mock refused.
func statusRun() *Run {
	start := time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)
	since := func(ms float64) *float64 { return &ms }
	sum := &Summary{Start: start, End: start.Add(2 * time.Second), Events: 40, Attempts: 40, TargetRate: 20, AchievedRate: 20,
		Outcomes: Outcomes{DeliveredFirstTry: 40}, ByAnswer: map[string]int64{"200": 40},
		TimeToDelivery: Quantiles{Count: 40, P50MS: 0.603, P99MS: 2.411, MaxMS: 2.411},
		Accounts: []espfapi.AccountStatus{
			{Account: "i_account=2000014", Status: "OK", Group: "HSS", Message: "provisioned by espfctl's built-in receiver", Calls: 1, SinceDeliveryMS: since(20.925269)},
			{Account: "i_account=2000036", Status: "OK", Group: "HSS", Message: "provisioned by espfctl's built-in receiver", Calls: 1, SinceDeliveryMS: since(21.017782)},
			{Account: "i_account=2000045", Status: "IN_PROGRESS", Group: "HSS", Calls: 1},
			{Account: "i_account=2000048", Status: "FAILED", Group: "SIP", Message: "no free port", Calls: 2, SinceDeliveryMS: since(1500)},
		},
		APICallsFailed: 3,
		APICalls:       []espfapi.MethodCalls{{Method: espfapi.StatusMethod, Calls: 8, Faults: 3}},
	}
	return &Run{Scenario: &scenario.Scenario{Name: "provisioning-status", File: "scenarios/provisioning-status.yaml"}, Start: start,
		Elapsed: 2 * time.Second, URL: "http://127.0.0.1:8080/", Builtin: true, Summary: sum}
}

const statusHeading = "<h2>Provisioning status (ESPF API)</h2>"

// TestHTMLProvisioningStatus: the page has the provisioning-status section
// with each account's status, group, calls and time after delivery as the
// text report prints them, and the calls the mock refused; a run without
// provisioning status has neither.
func TestHTMLProvisioningStatus(t *testing.T) {
	r := statusRun()
	var page, text bytes.Buffer
	if err := RunHTML(&page, r); err != nil {
		t.Fatal(err)
	}
	if err := RunText(&text, r, term.Layout{}); err != nil {
		t.Fatal(err)
	}
	out := page.String()
	for _, want := range []string{statusHeading,
		`<tr><th>account</th><th>status</th><th>group</th><th class="num">calls</th><th class="num">after delivery</th></tr>`,
		`<tr><td>i_account=2000014</td><td>OK</td><td>HSS</td><td class="num">1</td><td class="num">20.925ms</td></tr>`,
		`<tr><td>i_account=2000036</td><td>OK</td><td>HSS</td><td class="num">1</td><td class="num">21.018ms</td></tr>`,
		`<tr><td>i_account=2000045</td><td>IN_PROGRESS</td><td>HSS</td><td class="num">1</td><td class="num">-</td></tr>`,
		`<tr><td>i_account=2000048</td><td class="badnum">FAILED</td><td>SIP</td><td class="num">2</td><td class="num">1500ms</td></tr>`,
		`<tr><th>api calls rejected</th><td class="num badnum">3</td>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	if i, j := strings.Index(out, statusHeading), strings.Index(out, "<h2>PortaBilling API mock (calls)</h2>"); i < 0 || j < i {
		t.Errorf("provisioning status at %d, API mock calls at %d: want the text report's order", i, j)
	}
	// the same figures as the text report, from the same rows
	for _, want := range []string{"account\ti_account=2000014\tOK\tHSS\t1 calls\t20.925ms after delivery\n",
		"account\ti_account=2000045\tIN_PROGRESS\tHSS\t1 calls\t- after delivery\n",
		"account\ti_account=2000048\tFAILED\tSIP\t2 calls\t1500ms after delivery\n", "api calls rejected\t3\n"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text report lacks %q:\n%s", want, text.String())
		}
	}

	// refused calls and no account: the section says only that
	only := statusRun()
	s := *only.Summary
	s.Accounts = nil
	only.Summary = &s
	page.Reset()
	if err := RunHTML(&page, only); err != nil {
		t.Fatal(err)
	}
	if out := page.String(); !strings.Contains(out, statusHeading) || !strings.Contains(out, `<th>api calls rejected</th><td class="num badnum">3</td>`) ||
		strings.Contains(out, "after delivery") || strings.Contains(out, "i_account=") {
		t.Error("a run whose status calls were all refused: want the heading and the refused calls, no account table")
	}

	for _, r := range []*Run{plainRun(), lifecycleRun()} {
		page.Reset()
		if err := RunHTML(&page, r); err != nil {
			t.Fatal(err)
		}
		for _, banned := range []string{statusHeading, "api calls rejected", "after delivery"} {
			if strings.Contains(page.String(), banned) {
				t.Errorf("%s: a run without provisioning status shows %q", r.Scenario.Name, banned)
			}
		}
	}
}

// ctl is text from outside that would reorder or hide what the page shows
// if it reached it as it is: a right-to-left override, a newline, an ANSI
// colour and a line separator. ctlShown is what the text report (and so
// the page) shows of it: visible escapes.
const (
	ctl      = "Subscriber/\u202edetaerC\nforged 200\x1b[31mred\u2028end"
	ctlShown = `Subscriber/\u202edetaerC\nforged 200\x1b[31mred\u2028end`
)

// ctlRun is statusRun with ctl in an entity id, an event type (in a
// mismatch's words), an account, an API method, a reason and a phase name.
func ctlRun() *Run {
	r := statusRun()
	s := *r.Summary
	s.Accounts = append([]espfapi.AccountStatus{{Account: "i_account=" + ctl, Status: "OK", Group: "HSS", Calls: 1}}, s.Accounts...)
	s.FinalState = &entity.FinalState{Checked: 1, Mismatch: 1, Mismatches: []entity.Mismatch{{Entity: "customer/" + ctl,
		Words: "emitted " + ctl + " 21; delivered: the Application shows it absent"}}}
	s.APICalls = append(s.APICalls, espfapi.MethodCalls{Method: ctl, Calls: 1, Faults: 1})
	s.Errors = []ErrorReason{{Class: "reset", Count: 1, Example: "read tcp: " + ctl}}
	s.Phases = []PhaseSummary{{Index: 0, Name: "before", Events: 20, Start: r.Start}, {Index: 1, Name: ctl, Events: 20, Start: r.Start.Add(time.Second)}}
	r.Summary = &s
	r.Series = NewSeries(r.Start)
	for i := range 40 {
		r.Series.Add(r.Start.Add(time.Duration(i)*50*time.Millisecond), time.Millisecond, 200)
	}
	return r
}

// unsafeLeft is the first rune of out that term.Escape would escape (but
// the newlines and tabs of the page's own markup), or "".
func unsafeLeft(out string) string {
	for _, r := range out {
		if r != '\n' && r != '\t' && term.NeedsEscape(string(r)) {
			return term.Escape(string(r))
		}
	}
	return ""
}

// TestHTMLNeutralisesOutsideText: control characters, bidirectional
// overrides and line separators in text from outside show on the page as
// the text report shows them (term.Escape), HTML-escaped once; none
// reaches the page raw.
func TestHTMLNeutralisesOutsideText(t *testing.T) {
	var buf bytes.Buffer
	if err := RunHTML(&buf, ctlRun()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if u := unsafeLeft(out); u != "" {
		t.Errorf("the page carries %s raw", u)
	}
	for _, want := range []string{
		`<td>i_account=` + ctlShown + `</td><td>OK</td>`,
		`<td><span class="sw bad"></span>customer/` + ctlShown + `</td><td>emitted ` + ctlShown + ` 21;`,
		`<td>` + ctlShown + `</td><td class="num">1</td><td class="num badnum">1</td>`,
		`(` + ctlShown + `)</td>`,                          // a transport error, in the text report's words
		`<td>` + ctlShown + `</td><td class="num">20</td>`, // the phases table
		`">` + ctlShown + `</text>`,                        // and its marker on the charts
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	var text bytes.Buffer
	if err := RunText(&text, ctlRun(), term.Layout{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "account\ti_account="+ctlShown+"\t") {
		t.Errorf("the text report shows the account otherwise than the page:\n%s", text.String())
	}

	// HTML is escaped once: markup in outside text is text, its escapes
	// are not escaped again
	r := lifecycleRun()
	r.Summary.FinalState.Mismatches[1].Entity = "did/<b>" + ctl
	buf.Reset()
	if err := RunHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	if want := `did/&lt;b&gt;` + ctlShown + `</td>`; !strings.Contains(buf.String(), want) {
		t.Errorf("the HTML report lacks %q", want)
	}
	if strings.Contains(buf.String(), `\\u202e`) || strings.Contains(buf.String(), "&amp;lt;") {
		t.Error("the HTML report escapes twice")
	}
}

// TestHTMLNeutralisesEveryField fills every string of a Page, at any
// depth, with ctl: whatever field the template shows, now or after a
// change, nothing of it reaches the page raw.
func TestHTMLNeutralisesEveryField(t *testing.T) {
	var p Page
	fill(t, reflect.ValueOf(&p).Elem(), ctl)
	if p.FinalState == nil || len(p.Accounts) == 0 || p.Accounts[0].Account != ctl || p.Stats[0][1] != ctl {
		t.Fatalf("the page is not filled: %+v", p)
	}
	var buf bytes.Buffer
	if err := HTML(&buf, p); err != nil {
		t.Fatal(err)
	}
	if u := unsafeLeft(buf.String()); u != "" {
		t.Errorf("the page carries %s raw", u)
	}
	if n := strings.Count(buf.String(), ctlShown); n < 20 {
		t.Errorf("the filled text shows %d times escaped: the test fills fewer fields than the page shows", n)
	}
}

// fill sets every exported string under v to s, making one element of
// each empty slice and a value for each nil pointer; the series and the
// times keep their zero value.
func fill(t *testing.T, v reflect.Value, s string) {
	switch v.Type() {
	case reflect.TypeFor[*Series](), reflect.TypeFor[time.Time]():
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(t, v.Elem(), s)
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		for i := range v.Len() {
			fill(t, v.Index(i), s)
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(t, v.Index(i), s)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), s)
			}
		}
	case reflect.Map:
		if v.Type().Key() == reflect.TypeFor[string]() { // entity.Kind and the like are the report's own words
			t.Fatalf("fill cannot fill a map keyed by text (%s): add it", v.Type())
		}
	}
}

// TestHTMLStatusInChromium opens a provisioning-status run's report in
// headless Chromium and reads what a person sees: each account's status,
// group, calls and time after delivery, and the refused calls; the text
// from outside (ctl, in an account, an entity id and an event type) reads
// as the text report's visible escapes, not reordered, not broken over
// lines. A run without provisioning status has no such section.
func TestHTMLStatusInChromium(t *testing.T) {
	testutil.Slow(t)
	ctx := browser(t)
	read := func(r *Run) (pageSections, string) {
		t.Helper()
		openPage(t, ctx, func(f *os.File) error { return RunHTML(f, r) })
		got, err := chromedp.Run(ctx, chromedp.Evaluate[pageSections](sectionsJS))
		if err != nil {
			t.Fatal(err)
		}
		body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		return got, body
	}
	got, body := read(ctlRun())
	wantSections(t, got.Sections, map[string][]string{
		"Provisioning status (ESPF API)": {"account\tstatus\tgroup\tcalls\tafter delivery\n",
			"i_account=" + ctlShown + "\tOK\tHSS\t1\t-\n",
			"i_account=2000014\tOK\tHSS\t1\t20.925ms\n", "i_account=2000036\tOK\tHSS\t1\t21.018ms\n",
			"i_account=2000045\tIN_PROGRESS\tHSS\t1\t-\n", "i_account=2000048\tFAILED\tSIP\t2\t1500ms\n",
			"api calls rejected\t3\t"},
		"Final state (--state-url)":     {"customer/" + ctlShown + "\temitted " + ctlShown + " 21;"},
		"PortaBilling API mock (calls)": {ctlShown + "\t1\t1\n"},
	})
	if u := unsafeLeft(body); u != "" {
		t.Errorf("the page's text carries %s raw", u)
	}
	if out := os.Getenv("ESPFCTL_SCREENSHOT_DIR"); out != "" {
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out+"/status.png", shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	plain, _ := read(plainRun())
	if _, ok := plain.Sections["Summary"]; !ok {
		t.Fatalf("the plain run's page did not load: headings %v", keys(plain.Sections))
	}
	if _, ok := plain.Sections["Provisioning status (ESPF API)"]; ok {
		t.Error("a run without provisioning status shows the section")
	}
}
