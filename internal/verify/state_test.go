package verify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

func lifecycleBody(typ, idVar, id string, iEvent int64) string {
	return fmt.Sprintf(`{"event_type":%q,"variables":{%q:%s,"i_event":%d}}`, typ, idVar, id, iEvent)
}

// getState reads GET /state/… with the signer's credentials (nil: none).
func getState(t *testing.T, url string, s sign.Signer) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if s != nil {
		if err := s.Sign(req.Header, nil, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// TestEntityStateDesignB: serve applies only a newer i_event and keeps
// tombstones, so deliveries in any order end in PortaBilling's state; GET
// /state/{group}/{id} shows it with the delivery credentials, and a new
// receiver on the same journal starts from it.
func TestEntityStateDesignB(t *testing.T) {
	t.Parallel()
	auth := mustAuth(t, sign.Config{Scheme: sign.SchemeSignature, KeyIDs: []string{"k"}, Keys: []string{"s3cret"}, MaxSkew: time.Minute})
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := journal.Open(journal.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	_, srv := startReceiver(t, verify.Config{Auth: auth, Journal: j, Path: "/espf"})
	// the account: Updated and Deleted overtake its Created; the DID: in order
	for _, b := range []string{
		lifecycleBody("Subscriber/Updated", "i_account", "7", 23),
		lifecycleBody("Subscriber/Deleted", "i_account", "7", 41),
		lifecycleBody("Subscriber/Created", "i_account", "7", 17),
		lifecycleBody("DID/Created", "number", `"+15551000"`, 50),
		lifecycleBody("DID/Updated", "number", `"+15551000"`, 51),
		lifecycleBody("Customer/Updated", "i_customer", `"9"`, 60),
		lifecycleBody("Customer/Updated", "i_customer", `"9"`, 55),
	} {
		if code := post(t, srv.URL+"/espf", auth, time.Now(), b, nil); code != 200 {
			t.Fatalf("%s: %d", b, code)
		}
	}
	want := map[string][2]any{
		"/state/subscriber/7":    {200.0, false}, // the tombstone of Deleted 41
		"/state/did/%2B15551000": {200.0, true},
		"/state/customer/9":      {200.0, true},
		"/state/subscriber/8":    {404.0, nil},
	}
	iEvents := map[string]float64{"/state/subscriber/7": 41, "/state/did/%2B15551000": 51, "/state/customer/9": 60}
	for p, w := range want {
		code, ans := getState(t, srv.URL+p, auth)
		if float64(code) != w[0] || (w[1] != nil && ans["exists"] != w[1]) || (iEvents[p] != 0 && ans["i_event"] != iEvents[p]) {
			t.Errorf("GET %s: %d %v, want %v exists %v i_event %v", p, code, ans, w[0], w[1], iEvents[p])
		}
	}
	if code, _ := getState(t, srv.URL+"/state/subscriber/7", nil); code != http.StatusUnauthorized {
		t.Errorf("GET without credentials: %d, want 401", code)
	}
	if code, _ := getState(t, srv.URL+"/state/sim/1", auth); code != http.StatusBadRequest {
		t.Errorf("GET an unknown group: %d, want 400", code)
	}
	srv.Close()
	j.Close()

	// the journal keeps what the table was built from
	ro, err := journal.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	states, err := verify.LoadEntityStates(context.Background(), ro)
	if err != nil {
		t.Fatal(err)
	}
	list := states.List()
	if len(list) != 3 || list[0].Entity != "customer/9" || list[2].Entity != "subscriber/7" || list[2].Exists || list[2].IEvent != 41 {
		t.Errorf("states from the journal %+v", list)
	}
	j2, err := journal.Open(journal.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	rc2, err := verify.NewReceiver(verify.Config{Auth: auth, Journal: j2})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if rc2.States().Len() != 3 {
		t.Errorf("a receiver on the journal starts with %d entities, want 3", rc2.States().Len())
	}
}
