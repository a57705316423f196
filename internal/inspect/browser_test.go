package inspect_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/espfctl/espfctl/internal/testutil"
)

// browser starts headless Chromium for the test; each returned context is
// a tab.
func browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(width, height))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // start the browser on a context without a deadline
		t.Fatalf("start %s: %v", exe, err)
	}
	return ctx
}

// within runs steps in the browser; only the test's -timeout bounds them.
func within(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds, across the page
// loads it may wait for; only the test's -timeout bounds the wait.
func waitFor(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(0)))
		if err == nil {
			return
		}
		if ctx.Err() != nil || !(strings.Contains(err.Error(), "context") || strings.Contains(err.Error(), "navigated")) {
			t.Fatalf("waiting for %s: %v", js, err)
		}
		// The page navigated under the poll: poll the new one.
	}
}

// waitScriptless polls a condition from here, for a page whose own
// scripts are off (chromedp's Poll runs in the page, on its animation
// frames, which then never come); only the test's -timeout bounds it.
func waitScriptless(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("waiting for %s: %v", js, err)
		}
		time.Sleep(100 * time.Millisecond) // polls the browser; not a timing assertion
	}
}

// TestInspectorInChromium drives the inspector in a real headless
// Chromium: the page is open, three deliveries and a rejected one arrive
// and appear without a reload; a detail shows the headers with the
// credential redacted; "rejected only" lists the rejected one alone; a
// replay from the detail reaches the --forward-to Application byte for
// byte, signed again, and is listed as its own row, marked replay.
func TestInspectorInChromium(t *testing.T) {
	testutil.Slow(t)
	r := newRig(t, rigOptions{tick: 50 * time.Millisecond})
	ctx := browser(t, 1280, 900)

	within(t, ctx, chromedp.Navigate(r.admin+"/ui/"))
	waitFor(t, ctx, `document.querySelector("#live").classList.contains("on")`)
	if n := eval[int](t, ctx, `document.querySelectorAll("#rows tr[data-key]").length`); n != 0 {
		t.Fatalf("%d rows before any delivery", n)
	}
	eval[int](t, ctx, `window.sameDocument = 1`)

	bodies := map[int64][]byte{}
	for i := int64(1); i <= 3; i++ {
		bodies[7000+i] = eventBody("Subscriber/Created", 7000+i, 1000880+i)
		if st := deliver(t, r.delivery, r.auth, bodies[7000+i]); st != 200 {
			t.Fatalf("delivery %d: %d", i, st)
		}
	}
	if st := deliver(t, r.delivery, wrongPassword(t), eventBody("Subscriber/Created", 7009, 1)); st != 401 {
		t.Fatalf("a wrong password was answered %d", st)
	}
	waitFor(t, ctx, `document.querySelectorAll("#rows tr[data-key]").length === 4`)
	if eval[int](t, ctx, `window.sameDocument || 0`) != 1 {
		t.Fatal("the page was reloaded; the rows should arrive live")
	}
	keys := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#rows tr[data-key]"), tr => tr.dataset.key)`)
	if strings.Join(keys, " ") != "rejected/1 first/7003 first/7002 first/7001" {
		t.Errorf("live rows %v, want the newest first", keys)
	}
	rejected := eval[string](t, ctx, `document.querySelector('tr[data-key="rejected/1"]').innerText`)
	if !strings.Contains(rejected, "refused: mismatch") || !strings.Contains(rejected, "401") || !strings.Contains(rejected, "dropped") {
		t.Errorf("the rejected row reads %q: want the reason in words, 401 and the ESPF's consequence", rejected)
	}
	counters := eval[string](t, ctx, `document.querySelector("#counters").innerText`)
	if !strings.Contains(counters, "3\ndelivered") || !strings.Contains(counters, "1\nrejected") {
		t.Errorf("the counters read %q", counters)
	}

	// The detail of one delivery: headers as received, credential redacted.
	within(t, ctx, chromedp.Click(chromedp.CSS(`tr[data-key="first/7002"] a.rowlink`)), chromedp.WaitVisible(chromedp.CSS("#headers")))
	headers := eval[string](t, ctx, `document.querySelector("#headers").innerText`)
	secret := base64.StdEncoding.EncodeToString([]byte("pb:s3cret-pw"))
	if !strings.Contains(headers, "Authorization") || !strings.Contains(headers, "Basic [redacted]") ||
		strings.Contains(headers, secret) || strings.Contains(headers, "s3cret-pw") || !strings.Contains(headers, "PortaBilling-ESPF/test") {
		t.Errorf("the headers read %q: want them as received with the credential redacted", headers)
	}
	if raw := eval[string](t, ctx, `document.querySelector("#raw").textContent`); raw != string(bodies[7002]) {
		t.Errorf("raw body %q, want %q", raw, bodies[7002])
	}
	curl := eval[string](t, ctx, `document.querySelector("#curl").textContent`)
	if !strings.Contains(curl, "$ESPFCTL_PASSWORD") || strings.Contains(curl, "s3cret-pw") {
		t.Errorf("copy as curl: %q", curl)
	}

	// Back to the list with Escape, then "rejected only".
	within(t, ctx, chromedp.KeyEvent(kb.Escape), chromedp.WaitVisible(chromedp.CSS("form.filters")))
	// SetValue fires "change", as choosing an option does: the filter applies.
	within(t, ctx, chromedp.SetValue(chromedp.CSS(`select[name="show"]`), "rejected"))
	waitFor(t, ctx, `location.search.includes("show=rejected") && document.readyState === "complete"`)
	keys = eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#rows tr[data-key]"), tr => tr.dataset.key)`)
	if strings.Join(keys, " ") != "rejected/1" {
		t.Errorf(`"rejected only" lists %v`, keys)
	}

	// Replay one through --forward-to.
	before := len(r.app.requests())
	within(t, ctx, chromedp.Navigate(r.admin+"/ui/d/first/7001"), chromedp.Click(chromedp.CSS("#replay-recorded")))
	waitFor(t, ctx, `!!document.querySelector("#replay-answer")`)
	if answer := eval[string](t, ctx, `document.querySelector("#replay-answer").textContent`); !strings.Contains(answer, "answered 200") {
		t.Errorf("the replay's result reads %q", answer)
	}
	got := r.app.requests()
	if len(got) != before+1 {
		t.Fatalf("the Application got %d requests from the replay, want 1", len(got)-before)
	}
	replayed := got[len(got)-1]
	if !bytes.Equal(replayed.Body, bodies[7001]) {
		t.Errorf("the Application got %q, want the recorded bytes %q", replayed.Body, bodies[7001])
	}
	if err := r.auth.Verify(replayed.Header, replayed.Body, time.Now()); err != nil {
		t.Errorf("the replay's credentials: %v (want them signed again with serve's --auth)", err)
	}
	if ua := replayed.Header.Get("User-Agent"); ua != "PortaBilling-ESPF/test" {
		t.Errorf("the replay's User-Agent %q, want the recorded one", ua)
	}
	within(t, ctx, chromedp.Click(chromedp.CSS("#replay-link")), chromedp.WaitVisible(chromedp.CSS("#headers")))
	within(t, ctx, chromedp.Navigate(r.admin+"/ui/"))
	waitFor(t, ctx, `!!document.querySelector('#rows tr[data-kind="replay"]')`)
	row := eval[string](t, ctx, `document.querySelector('#rows tr[data-kind="replay"]').innerText`)
	if !strings.Contains(row, "replay") || !strings.Contains(row, "7001") || !strings.Contains(row, "200") {
		t.Errorf("the replay's row reads %q", row)
	}
}

// TestInspectorWithoutJavaScript: with JavaScript off the list is there
// (rendered by serve), a detail opens, and the replay form posts as a
// plain form and lands on the replay's own page.
func TestInspectorWithoutJavaScript(t *testing.T) {
	testutil.Slow(t)
	r := newRig(t, rigOptions{})
	ctx := browser(t, 1280, 900)
	body := eventBody("Account/Blocked", 42, 1000889)
	if st := deliver(t, r.delivery, r.auth, body); st != 200 {
		t.Fatal(st)
	}
	within(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}), chromedp.Navigate(r.admin+"/ui/"))
	if text := eval[string](t, ctx, `document.querySelector("#rows").innerText`); !strings.Contains(text, "Account/Blocked") ||
		!strings.Contains(text, "i_account=1000889") {
		t.Errorf("the server-rendered list reads %q", text)
	}
	if live := eval[string](t, ctx, `document.querySelector("#live").textContent`); !strings.Contains(live, "reload") {
		t.Errorf("without JavaScript the page should say it is static, says %q", live)
	}
	within(t, ctx, chromedp.Click(chromedp.CSS(`tr[data-key="first/42"] a.rowlink`)))
	waitScriptless(t, ctx, `location.pathname === "/ui/d/first/42" && document.readyState === "complete"`)
	within(t, ctx, chromedp.Click(chromedp.CSS("#replay-recorded")))
	waitScriptless(t, ctx, `location.pathname.startsWith("/ui/d/replay/") && document.readyState === "complete"`)
	loc := eval[string](t, ctx, `location.pathname`)
	if !strings.HasPrefix(loc, "/ui/d/replay/") {
		t.Fatalf("after the replay form the page is %s, want the replay's detail", loc)
	}
	got := r.app.requests()
	if len(got) != 2 || !bytes.Equal(got[1].Body, body) {
		t.Errorf("the Application got %d requests; the replay's body equal: %v", len(got), len(got) == 2 && bytes.Equal(got[1].Body, body))
	}
}
