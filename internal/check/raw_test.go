package check_test

import (
	"net/http"
	"testing"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/sign"
)

// TestOverLimitAnsweredEarly: an Application that answers 413 as soon as
// it sees a Content-Length over its limit, and closes the connection
// without reading the body (the kernel then resets it, under the body
// still coming), gets the same verdict every time: the 413 is read while
// the body is being written, whatever happens to the write.
func TestOverLimitAnsweredEarly(t *testing.T) {
	t.Parallel()
	c := vectors[sign.SchemeBasic]
	ref := receiver(t, &c)
	url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength <= check.BodyLimit {
			ref.ServeHTTP(w, r)
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n\r\nbody too large"))
		_ = conn.Close()
	}), nil)
	for i := range 30 {
		rs, err := check.Run(t.Context(), check.Config{URL: url, Creds: c, Select: []string{"1/over-1mib"}})
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if r := rs[0]; r.Grade != check.Pass || r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("run %d of 30: %s %s %q, want a pass on the 413", i+1, r.Grade, r.Answer, r.Consequence)
		}
	}
}
