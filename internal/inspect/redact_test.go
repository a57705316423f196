package inspect_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
)

// withHeaders signs as au does, then adds headers serve was not told carry
// credentials.
type withHeaders struct {
	au    sign.Signer
	extra map[string]string
}

func (w withHeaders) Sign(h http.Header, body []byte, now time.Time) error {
	for k, v := range w.extra {
		h.Set(k, v)
	}
	return w.au.Sign(h, body, now)
}

// TestCaptureRedactsCredentialNamedHeaders: a credential in a header serve
// was not told about (X-Api-Key, X-Auth-Token, X-Client-Secret,
// X-Db-Password, a Cookie) is redacted in the journal's raw capture, of an
// event and of a rejection, and on the inspector's detail page; a header
// whose name says nothing of credentials is kept as received.
func TestCaptureRedactsCredentialNamedHeaders(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{noForward: true})
	secrets := map[string]string{
		"X-Api-Key":       "ak-0f1e2d3c4b5a",
		"X-Auth-Token":    "Bearer tok-9a8b7c6d",
		"X-Client-Secret": "cs-55aa55aa",
		"X-Db-Password":   "pw-hunter2",
		"Cookie":          "session=sess-1234abcd",
	}
	extra := map[string]string{"X-Trace-Id": "trace-visible-42"}
	for k, v := range secrets {
		extra[k] = v
	}
	if st := deliver(t, r.delivery, withHeaders{r.auth, extra}, eventBody("Subscriber/Created", 1, 10)); st != 200 {
		t.Fatalf("delivery answered %d", st)
	}
	if st := deliver(t, r.delivery, withHeaders{wrongPassword(t), extra}, eventBody("Subscriber/Created", 2, 10)); st != 401 {
		t.Fatalf("delivery with a wrong password answered %d", st)
	}
	r.awaitRejected(t, 1)
	for _, key := range []string{"first/1", "rejected/1"} {
		kind, id, _ := strings.Cut(key, "/")
		var rec *journal.Record
		err := r.rc.Journal().Each(context.Background(), journal.Query{Kinds: []journal.Kind{journal.Kind(kind)}, Capture: true}, func(x *journal.Record) error {
			if x.Key() == key {
				rec = x
			}
			return nil
		})
		if err != nil || rec == nil {
			t.Fatalf("%s not in the journal: %v", key, err)
		}
		for name, secret := range secrets {
			got := rec.Headers[name]
			if len(got) != 1 || strings.Contains(got[0], secret) || !strings.Contains(got[0], "[redacted]") {
				t.Errorf("%s: the journal keeps %s as %q, want it redacted", key, name, got)
			}
		}
		if got := rec.Headers["X-Trace-Id"]; len(got) != 1 || got[0] != "trace-visible-42" {
			t.Errorf("%s: X-Trace-Id kept as %q, want it as received", key, got)
		}
		st, page := get(t, r.admin+"/ui/d/"+kind+"/"+id)
		if st != 200 {
			t.Fatalf("detail page of %s: %d", key, st)
		}
		for name, secret := range secrets {
			if strings.Contains(page, secret) {
				t.Errorf("the detail page of %s shows %s's value %q", key, name, secret)
			}
		}
		if !strings.Contains(page, "trace-visible-42") {
			t.Errorf("the detail page of %s does not show X-Trace-Id", key)
		}
	}
}
