package verify_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

// TestReplaySignsAgain: a replay of a recorded delivery (its credential
// redacted, its Date old) reaches the Application with the body byte for
// byte and a credential that verifies now, for every scheme; the journal
// keeps it as a replay row with the credential redacted.
func TestReplaySignsAgain(t *testing.T) {
	body := []byte(`{"event_type":"Subscriber/Created","variables":{"i_event":5,"i_account":9}}`)
	for _, cfg := range []sign.Config{
		{Scheme: sign.SchemeBasic, Users: []string{"pb"}, Passwords: []string{"pw"}},
		{Scheme: sign.SchemeCustom, Name: "Plain", Credentials: []string{"c"}},
		{Scheme: sign.SchemeSignature, KeyIDs: []string{"k"}, Keys: []string{"key"}, MaxSkew: sign.DefaultMaxSkew},
		{Scheme: sign.SchemeBearer, Keys: []string{"key"}, MaxSkew: sign.DefaultMaxSkew},
	} {
		t.Run(cfg.Scheme, func(t *testing.T) {
			au := mustAuth(t, cfg)
			var got http.Header
			var gotBody []byte
			app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, gotBody = r.Header.Clone(), must(io.ReadAll(r.Body))
				if err := au.Verify(r.Header, gotBody, time.Now()); err != nil {
					w.WriteHeader(401)
					return
				}
			}))
			defer app.Close()
			rc, err := verify.NewReceiver(verify.Config{Auth: au, Forward: &verify.Forward{URL: app.URL}})
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			word := map[string]string{sign.SchemeBasic: "Basic ", sign.SchemeSignature: "Signature ", sign.SchemeBearer: "Bearer "}[cfg.Scheme]
			res, err := rc.Replay(t.Context(), verify.ReplayRequest{Body: body, Source: "first/5", Header: http.Header{
				"Authorization": {word + verify.Redacted}, "Date": {"Mon, 02 Jan 2006 15:04:05 GMT"}, "Host": {"espf.example"},
				"Content-Type": {"application/json"}, "Te": {"trailers"}, "Content-Length": {"999"}}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != 200 || !res.Signed || string(gotBody) != string(body) {
				t.Fatalf("replay: %+v; the Application got %q with %v", res, gotBody, got)
			}
			d, err := rc.Journal().Get(t.Context(), journal.Replay, res.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v := d.Headers["Authorization"]; len(v) != 1 || !strings.Contains(v[0], verify.Redacted) || d.Source != "first/5" || d.Status != 200 {
				t.Errorf("the replay's row: %+v", d)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
