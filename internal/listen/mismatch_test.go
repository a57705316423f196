package listen

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestTLSOnPlainNamesTheClient: an https client on a plain listener is
// seen, a plain http client is not, and both are served as before.
func TestTLSOnPlainNamesTheClient(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Listener = TLSOnPlain(srv.Listener, func(remote string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, remote)
	})
	srv.Start()
	defer srv.Close()
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	if len(seen) != 0 {
		t.Errorf("plain http was taken for TLS: %v", seen)
	}
	mu.Unlock()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if _, err := client.Post(strings.Replace(srv.URL, "http://", "https://", 1), "application/json", strings.NewReader("{}")); err == nil {
		t.Fatal("https to a plain listener succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || !strings.HasPrefix(seen[0], "127.0.0.1:") {
		t.Errorf("https to a plain listener: seen %v, want the client's address once", seen)
	}
}
