package report

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/testutil"
)

// browserPage is an interrupted three-phase run with re-sends and drops,
// through the real aggregation: what a person opens after a backlog flush.
func browserPage() Page {
	t0 := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	m, s := NewMetrics(), NewSeries(t0)
	ev := int64(0)
	add := func(r sim.Record) { m.Add(&r); s.Record(&r) }
	for _, ph := range []struct {
		from, to time.Duration
		every    time.Duration
	}{{0, 3 * time.Second, 100 * time.Millisecond}, {3 * time.Second, 6 * time.Second, 5 * time.Millisecond}, {6 * time.Second, 9 * time.Second, 100 * time.Millisecond}} {
		phase := int(ph.from / (3 * time.Second))
		for at := ph.from; at < ph.to; at += ph.every {
			ev++
			due := t0.Add(at)
			lat := time.Duration(2+ev%5) * time.Millisecond
			if phase == 1 {
				lat += time.Duration(ev%40) * time.Millisecond
			}
			r := sim.Record{IEvent: ev, EventType: "Subscriber/Updated", Attempt: 1, Phase: phase, Intended: due, Sent: due, Answered: due.Add(lat), Status: 200, Outcome: espf.Delivered}
			switch {
			case ev%17 == 0:
				r.Status, r.Outcome = 401, espf.Dropped
			case ev%5 == 0:
				r.Status, r.Outcome = 503, espf.Resent
				add(r)
				re := due.Add(time.Second)
				r = sim.Record{IEvent: ev, EventType: r.EventType, Attempt: 2, Phase: phase, Intended: re, Sent: re, Answered: re.Add(lat), Status: 200, Outcome: espf.Delivered}
			}
			add(r)
		}
	}
	sum := NewSummary(m, Inputs{PhaseNames: []string{"before", "flush", "after"}, Run: &sim.Stats{Interrupted: true}})
	return Page{Title: "backlog-flush", Subtitle: "scenarios/backlog-flush.yaml → http://127.0.0.1:8080/", Generated: t0.Add(10 * time.Second),
		Interrupted: true, Note: InterruptedCheck("run", 9500*time.Millisecond).Actual, Headline: Headline(sum),
		Checks:   []Check{{Name: "delivered >= 100%", Actual: "94.1%", Position: "backlog-flush.yaml:22:3"}, InterruptedCheck("run", 9500*time.Millisecond)},
		Outcomes: []Bar{{"delivered first try", sum.Outcomes.DeliveredFirstTry, "ok"}, {"delivered after retries", sum.Outcomes.DeliveredAfterRetry, "ok"}, {"dropped (4xx)", sum.Outcomes.DroppedBy4xx, "warn"}},
		Answers:  []Bar{{"200", sum.ByAnswer["200"], "ok"}, {"503", sum.ByAnswer["503"], "bad"}, {"401", sum.ByAnswer["401"], "warn"}},
		Reasons:  []Reason{{Answer: "401", Count: sum.ByAnswer["401"], Text: "basic password does not match (built-in receiver)", Class: "warn"}},
		Phases:   sum.Phases, Series: s, Stats: [][2]string{{"events", "660"}}}
}

// browser starts headless Chromium for the test (it skips where Chromium
// is not installed) and returns its context.
func browser(t *testing.T) context.Context {
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1200, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel) // only the test's -timeout bounds what the browser does
	return ctx
}

// openPage writes a report with render to a file and opens it in the
// browser, as a person opens report.html.
func openPage(t *testing.T, ctx context.Context, render func(*os.File) error) {
	t.Helper()
	page := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := render(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page)); err != nil {
		t.Fatalf("open the report in Chromium: %v", err)
	}
}

// sectionsJS is every h2 of the page with what a person reads under it
// (innerText: a table's cells tab-separated, its rows one a line), and how
// many elements the page has that a report never writes (markup smuggled
// in by hostile text would make them).
const sectionsJS = `(() => {
	const sections = {};
	for (const h of document.querySelectorAll("h2")) {
		let text = "";
		for (let e = h.nextElementSibling; e && e.tagName !== "H2"; e = e.nextElementSibling) text += e.innerText + "\n";
		sections[h.textContent] = text;
	}
	return {sections, forged: document.querySelectorAll("b, script, #forged").length, title: document.title};
})()`

type pageSections struct {
	Sections map[string]string `json:"sections"`
	Forged   int               `json:"forged"`
	Title    string            `json:"title"`
}

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("headless Chromium is not installed (apt-get install chromium): the HTML report is not rendered in a browser")
	return ""
}

// TestHTMLInChromium renders the report in headless Chromium and checks
// what a person sees: every chart label inside its chart (none clipped),
// the p99 lines, the phase markers, the target rate line, the reasons, and
// INTERRUPTED at the top. With ESPFCTL_SCREENSHOT_DIR set it keeps a
// full-page PNG screenshot there (report.png).
func TestHTMLInChromium(t *testing.T) {
	testutil.Slow(t)
	ctx := browser(t)
	openPage(t, ctx, func(f *os.File) error { return HTML(f, browserPage()) })
	clipped, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const out = [];
		for (const svg of document.querySelectorAll("svg")) {
			const vb = svg.viewBox.baseVal;
			for (const t of svg.querySelectorAll("text")) {
				const b = t.getBBox();
				if (b.x < vb.x - 0.5 || b.y < vb.y - 0.5 || b.x + b.width > vb.x + vb.width + 0.5 || b.y + b.height > vb.y + vb.height + 0.5)
					out.push(t.textContent + " at " + [b.x, b.y, b.width, b.height].map(Math.round).join(","));
			}
		}
		return out;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	counts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](`(() => {
		const n = s => document.querySelectorAll(s).length;
		return {p99: n("polyline.lp99"), phase: n("line.phase"), phaseLabel: n("text.phase"), target: n("polyline.target"), charts: n("svg")};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	banner, err := chromedp.Run(ctx, chromedp.Text(".banner"))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(clipped) > 0 {
		t.Errorf("chart labels outside their chart (clipped): %s", strings.Join(clipped, "; "))
	}
	if counts["p99"] != 2 || counts["phase"] < 6 || counts["phaseLabel"] < 6 || counts["target"] != 1 {
		t.Errorf("want a p99 line on both latency charts, phase markers on all three time charts and one target line; found %v", counts)
	}
	if !strings.HasPrefix(banner, "INTERRUPTED") {
		t.Errorf("the page's banner says %q, want INTERRUPTED first", banner)
	}
	if out := os.Getenv("ESPFCTL_SCREENSHOT_DIR"); out != "" {
		if err := os.WriteFile(filepath.Join(out, "report.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHTMLLifecyclesInChromium opens a lifecycle run's report in headless
// Chromium and reads what a person sees under each heading: the reordered
// entities and events by kind, the final state with each mismatch in
// words, the calls per method of the PortaBilling API mock; hostile text in
// an entity id and a method name shows as text, not as markup. A run
// without lifecycles or API mock has none of the three sections. With
// ESPFCTL_SCREENSHOT_DIR set it keeps the page there (lifecycle.png).
func TestHTMLLifecyclesInChromium(t *testing.T) {
	testutil.Slow(t)
	ctx := browser(t)
	read := func(r *Run) pageSections {
		t.Helper()
		openPage(t, ctx, func(f *os.File) error { return RunHTML(f, r) })
		got, err := chromedp.Run(ctx, chromedp.Evaluate[pageSections](sectionsJS))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := read(lifecycleRun())
	if got.Forged != 0 || strings.Contains(got.Title, "owned") {
		t.Errorf("hostile text became markup: %d smuggled elements, title %q", got.Forged, got.Title)
	}
	wantSections(t, got.Sections, map[string][]string{
		"Order (entity lifecycles)": {"reordered entities\t24\n", "reordered events\t26\n",
			"Updated delivered before the Created\t12\n", "Created delivered after the Deleted\t1\n",
			"Updated delivered after the Deleted\t3\n", "older Updated delivered after a newer one\t10\n"},
		"Final state (--state-url)": {"checked\t60\t", "match\t57\t", "mismatch\t2\t", "unreadable\t1\t", "unknown\t4\tan event pending, given up or dropped: not compared",
			"customer/1000001\temitted Created 4, Updated 6, Updated 7, Deleted 16; Updated 6 delivered, Updated 7 delivered, Deleted 16 delivered, then Created 4 re-sent and delivered: the Application shows it existing (i_event 4), expected deleted (i_event 16): a deleted entity brought back\n",
			"did/" + hostile + "\temitted Created 21 " + hostile + ";", "subscriber/1000009\tthe state URL answered 500"},
		"PortaBilling API mock (calls)": {"method\tcalls\tfaults\n", "Account/get_account_info\t37\t2\n", "Session/login\t1\t0\n",
			hostile + "\t3\t3\n", "espf/v1 account status\t40\t0\n", "entities held\t40\n"},
	})
	if out := os.Getenv("ESPFCTL_SCREENSHOT_DIR"); out != "" {
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, "lifecycle.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	plain := read(plainRun())
	if _, ok := plain.Sections["Summary"]; !ok {
		t.Fatalf("the plain run's page did not load: headings %v", keys(plain.Sections))
	}
	for _, heading := range []string{"Order (entity lifecycles)", "Final state (--state-url)", "PortaBilling API mock (calls)"} {
		if _, ok := plain.Sections[heading]; ok {
			t.Errorf("a run without lifecycles or API mock shows the %q section", heading)
		}
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// wantSections checks that each heading's section of a page read back from
// the browser shows every one of its wanted lines.
func wantSections(t *testing.T, sections map[string]string, want map[string][]string) {
	t.Helper()
	for heading, lines := range want {
		text, ok := sections[heading]
		if !ok {
			t.Errorf("the page has no %q section; its headings: %v", heading, keys(sections))
			continue
		}
		for _, w := range lines {
			if !strings.Contains(text, w) {
				t.Errorf("section %q does not show %q; it reads:\n%s", heading, w, text)
			}
		}
	}
}
