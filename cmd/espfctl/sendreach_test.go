package main

import (
	"net"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/testutil"
)

// closedPort is a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestSendUnreachable: against a port where nothing listens, send names
// the error on stderr as soon as the first attempt fails (before the
// report), keeps re-sending as the ESPF would, and exits 3: it could not
// test anything.
func TestSendUnreachable(t *testing.T) {
	t.Parallel()
	ios, out, errb := testutil.IO()
	args := sendArgs("http://"+closedPort(t)+"/espf", "--count", "2", "--max-attempts", "3")
	if code := run(t.Context(), args, ios); code != exitError {
		t.Fatalf("exit %d, want %d: %s", code, exitError, errb)
	}
	stderr := errb.String()
	said := strings.Index(stderr, "cannot reach http://127.0.0.1:")
	if said < 0 || !strings.Contains(stderr[said:], "connection refused") {
		t.Fatalf("stderr does not name the refused connection:\n%s", stderr)
	}
	if strings.Count(stderr, "cannot reach") != 1 {
		t.Errorf("the error is said more than once while it lasts:\n%s", stderr)
	}
	if !strings.Contains(stderr, "2 of 2 events not delivered: refused") {
		t.Errorf("the last line does not say what was not delivered, and why:\n%s", stderr)
	}
	if !strings.Contains(out.String(), "gave up") {
		t.Errorf("no report on stdout:\n%s", out)
	}
}
