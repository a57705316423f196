package espf_test

import (
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
