package main

import (
	"net"
	"strings"
	"testing"
)

// TestServeAddressInUse: serve on a taken port says so once, with the way
// out, and exits 3 (could not run).
func TestServeAddressInUse(t *testing.T) {
	t.Parallel()
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.Addr().String()
	code, _, errOut := runCLI(t, "serve", "--no-auth", "--listen", addr, "--admin-listen", "off")
	if code != exitError {
		t.Errorf("serve on a held port: exit %d, want %d", code, exitError)
	}
	if n := strings.Count(errOut, "in use"); n != 1 || !strings.Contains(errOut, "--listen 127.0.0.1:0") {
		t.Errorf("serve on a held port: stderr %q, want \"in use\" once and --listen 127.0.0.1:0 as the way out", errOut)
	}
}
