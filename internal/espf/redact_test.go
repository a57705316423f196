package espf_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/espf"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"https://app.example/espf", "https://app.example/espf"},
		{"https://pb:s3cret@app.example/espf", "https://pb:xxxxx@app.example/espf"},
		{"https://t0ken@app.example:8443/espf?x=1", "https://xxxxx@app.example:8443/espf?x=1"},
		{"http://pb:p@ss:w0rd@127.0.0.1:8080/", "http://pb:xxxxx@127.0.0.1:8080/"},          // the last @ ends the user-info, as url.Parse reads it
		{"https://pb:s3cret@app.example:bad/espf", "https://pb:xxxxx@app.example:bad/espf"}, // does not parse: redacted all the same
		{"https://app.example/a@b", "https://app.example/a@b"},                              // an @ in the path is no user-info
		{"https://app.example/?u=a:b@c", "https://app.example/?u=a:b@c"},
		{"not a url", "not a url"},
		{"", ""},
	} {
		if got := espf.RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRedactURLError: net/http's errors quote the URL; a lone user name
// (a token) is not stripped by net/http itself.
func TestRedactURLError(t *testing.T) {
	t.Parallel()
	_, err := http.Get("http://t0ken@127.0.0.1:1/espf")
	if err == nil {
		t.Fatal("port 1 answered")
	}
	if !strings.Contains(err.Error(), "t0ken") {
		t.Skipf("net/http no longer quotes the user name (%v): nothing to redact", err)
	}
	if msg := espf.RedactURLError(err).Error(); strings.Contains(msg, "t0ken") || !strings.Contains(msg, "xxxxx@127.0.0.1:1") {
		t.Errorf("redacted error %q", msg)
	}
	plain := errors.New("no url here")
	if espf.RedactURLError(plain) != plain {
		t.Error("an error without a URL must come back as is")
	}
}
