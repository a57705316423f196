package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/testutil"
)

// TestServeLinesFitTheTerminal: on an 80-column terminal serve writes a
// header line and no line wider than 80, on stdout (20 deliveries and a
// refused one, whose reason goes under its line) or stderr (where it
// listens, the summary).
func TestServeLinesFitTheTerminal(t *testing.T) {
	t.Parallel()
	ready := filepath.Join(t.TempDir(), "addr")
	ios, out, errb := testutil.IO()
	ios.IsTTY, ios.Width, ios.ErrTTY, ios.ErrWidth = true, 80, true, 80
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--ready-file", ready, "--admin-listen", "off",
			"--auth", "basic", "--user", "pb", "--password", "pw"}, ios)
	}()
	addr := waitReady(t, ready, code, errb.String)
	send := func(password string, want int, extra ...string) {
		sio, _, serr := testutil.IO()
		args := append([]string{"send", "--url", "http://" + addr + "/", "--auth", "basic", "--user", "pb", "--password", password, "--no-progress"}, extra...)
		if c := run(t.Context(), args, sio); c != want {
			t.Fatalf("send: exit %d, want %d\n%s", c, want, serr)
		}
	}
	send("pw", exitOK, "--count", "20", "--rate", "100/s")
	send("wrong", exitFailed, "--count", "1", "--max-attempts", "1")
	cancel()
	<-code
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) < 22 || !strings.HasPrefix(lines[0], "time UTC") {
		t.Fatalf("stdout: %d lines, want a header and 21 deliveries:\n%s", len(lines), out)
	}
	for _, l := range append(lines, strings.Split(errb.String(), "\n")...) {
		if term.Width(l) > 80 {
			t.Errorf("a line of %d columns on an 80-column terminal:\n%s", term.Width(l), l)
		}
	}
	if !strings.Contains(errb.String(), "listening on http://") {
		t.Errorf("stderr does not say where serve listens:\n%s", errb)
	}
	if !strings.Contains(out.String(), "\n    mismatch: wrong password") {
		t.Errorf("the refusal's reason is not under its line:\n%s", out)
	}
}
