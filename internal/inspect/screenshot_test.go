package inspect_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/testutil"
)

// TestInspectorScreenshots takes the README's screenshots of the
// inspector: the list at 1280 px and 390 px (a phone), light and dark, and
// a delivery's detail, after a morning's worth of realistic traffic through
// serve --forward-to (first deliveries, a duplicate, a wrong password, the
// Application answering 500, 400 and once too late, a replay). It runs
// only when ESPFCTL_SCREENSHOT_DIR names the directory to write them to (a
// slow test: with ESPFCTL_SLOW=1):
//
//	ESPFCTL_SLOW=1 ESPFCTL_SCREENSHOT_DIR=$PWD/docs go test -count=1 -run TestInspectorScreenshots ./internal/inspect
func TestInspectorScreenshots(t *testing.T) {
	testutil.Slow(t)
	dir := os.Getenv("ESPFCTL_SCREENSHOT_DIR")
	if dir == "" {
		t.Skip("set ESPFCTL_SCREENSHOT_DIR to write the inspector's screenshots there")
	}
	g, err := event.NewGenerator(event.GenConfig{Types: []event.Weighted{{Type: "Subscriber/Created", Weight: 4},
		{Type: "Subscriber/Updated", Weight: 3}, {Type: "Account/Blocked", Weight: 1}, {Type: "Customer/Created", Weight: 1},
		{Type: "Account/BalanceChanged", Weight: 2}}, FirstEvent: 7601, IDMin: 1000800, IDMax: 1000999, Seed: 7, Count: 22})
	if err != nil {
		t.Fatal(err)
	}
	var items []event.Item
	for {
		it, err := g.Next()
		if err != nil {
			break
		}
		items = append(items, it)
	}
	slow, bad, failing := items[9].IEvent, items[14].IEvent, items[5].IEvent
	var failed atomic.Bool
	tooLate := make(chan struct{}) // the slow answer waits past --forward-timeout, whatever this machine's speed
	r := newRig(t, rigOptions{timeout: 300 * time.Millisecond, answer: func(b []byte) int {
		switch {
		case contains(b, `"i_event":`+itoa(slow)):
			<-tooLate // until the test ends: serve has answered 504 long before
			return 200
		case contains(b, `"i_event":`+itoa(bad)):
			return 400
		case contains(b, `"i_event":`+itoa(failing)) && !failed.Swap(true):
			return 500 // the first delivery fails, the ESPF's re-send is delivered
		}
		return 200
	}})
	t.Cleanup(func() { close(tooLate) }) // before the rig's servers stop
	for i, it := range items {
		deliver(t, r.delivery, r.auth, it.Body)
		switch i {
		case 5:
			deliver(t, r.delivery, r.auth, it.Body) // the re-send after the 500
		case 11:
			deliver(t, r.delivery, r.auth, items[3].Body) // a duplicate
		case 17:
			deliver(t, r.delivery, wrongPassword(t), it.Body)
		}
	}
	post(t, r, url.Values{"token": {r.ui.Token()}, "from": {"first/" + itoa(items[2].IEvent)}, "mode": {"recorded"}}, nil)
	r.awaitRejected(t, 4)

	shoot := func(name, path string, width, height int64, mobile bool, dark bool, full bool) {
		t.Helper()
		ctx := browser(t, int(width), int(height))
		scheme := "light"
		if dark {
			scheme = "dark"
		}
		scale := 1.0
		if mobile {
			scale = 2
		}
		within(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
				Width: width, Height: height, DeviceScaleFactor: scale, Mobile: mobile})
			return err
		}), chromedp.Navigate(r.admin+path))
		waitFor(t, ctx, `document.readyState === "complete" && (!document.querySelector("#live") || !document.querySelector("#list") || document.querySelector("#live").classList.contains("on"))`)
		var shot []byte
		if full {
			shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		} else {
			shot, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
		}
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, name)
		if err := os.WriteFile(out, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", out, len(shot))
	}
	detail := "/ui/d/first/" + itoa(items[5].IEvent)
	shoot("inspector-desktop-light.png", "/ui/", 1280, 860, false, false, false)
	shoot("inspector-desktop-dark.png", "/ui/", 1280, 860, false, true, false)
	shoot("inspector-phone-light.png", "/ui/", 390, 844, true, false, false)
	shoot("inspector-phone-dark.png", "/ui/", 390, 844, true, true, false)
	shoot("inspector-detail-desktop-light.png", detail, 1280, 900, false, false, true)
	shoot("inspector-detail-phone-dark.png", detail, 390, 844, true, true, false)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
