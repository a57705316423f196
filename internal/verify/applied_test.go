package verify_test

import (
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

// TestStateApplied: the state endpoint's "applied" counts an entity's
// lifecycle events once each, a repeated i_event not again, and a receiver
// started again on the same journal (serve after a crash) answers the
// same count: a re-send after a restart is not applied twice.
func TestStateApplied(t *testing.T) {
	t.Parallel()
	auth := mustAuth(t, sign.Config{Scheme: sign.SchemeSignature, KeyIDs: []string{"k"}, Keys: []string{"s3cret"}, MaxSkew: time.Minute})
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := journal.Open(journal.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	_, srv := startReceiver(t, verify.Config{Auth: auth, Journal: j, Path: "/espf"})
	for _, b := range []string{
		lifecycleBody("Subscriber/Created", "i_account", "7", 17),
		lifecycleBody("Subscriber/Updated", "i_account", "7", 23),
		lifecycleBody("Subscriber/Created", "i_account", "7", 17), // a duplicate
		lifecycleBody("Account/Blocked", "i_account", "7", 30),    // not a lifecycle event
	} {
		if code := post(t, srv.URL+"/espf", auth, time.Now(), b, nil); code != 200 {
			t.Fatalf("%s: %d", b, code)
		}
	}
	if _, ans := getState(t, srv.URL+"/state/subscriber/7", auth); ans["applied"] != 2.0 {
		t.Errorf("applied after Created, Updated, the Created again: %v, want 2", ans)
	}
	srv.Close()
	j.Close()

	j2, err := journal.Open(journal.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	rc2, err := verify.NewReceiver(verify.Config{Auth: auth, Journal: j2, Path: "/espf"})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(rc2)
	defer srv2.Close()
	if code := post(t, srv2.URL+"/espf", auth, time.Now(), lifecycleBody("Subscriber/Updated", "i_account", "7", 23), nil); code != 200 {
		t.Fatalf("the Updated re-sent after the restart: %d", code)
	}
	if _, ans := getState(t, srv2.URL+"/state/subscriber/7", auth); ans["applied"] != 2.0 || ans["i_event"] != 23.0 {
		t.Errorf("after a restart and a re-send: %v, want applied 2 at i_event 23", ans)
	}
}
