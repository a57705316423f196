package listen

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

// TestInUseSaysWhatToDo: a taken address is named once, with the way out.
func TestInUseSaysWhatToDo(t *testing.T) {
	held, err := TCP("--listen", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.Addr().String()
	_, err = TCP("--listen", addr)
	want := "--listen " + addr + ": address already in use (another process listens there); give another port, or --listen 127.0.0.1:0 for any free one"
	if err == nil || err.Error() != want {
		t.Fatalf("TCP on a held address: %v, want %q", err, want)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("errors.Is(%v, EADDRINUSE) = false", err)
	}
	if n := strings.Count(err.Error(), addr); n != 1 {
		t.Errorf("%q names the address %d times, want once", err, n)
	}
}

func TestBadAddressNamedOnce(t *testing.T) {
	_, err := TCP("--api-listen", "127.0.0.1:99999")
	if err == nil || strings.Contains(err.Error(), "listen tcp") || !strings.HasPrefix(err.Error(), "--api-listen 127.0.0.1:99999: ") {
		t.Errorf("TCP on a bad port: %v, want it named after --api-listen, without Go's \"listen tcp\"", err)
	}
}
