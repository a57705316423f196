// Package listen opens the TCP listeners that serve, run and the API mock
// bind, with an error that says what to do when the address is taken.
package listen

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// InUseError is a listen address that another process holds.
type InUseError struct {
	Flag string // the flag or key that named the address, e.g. --listen
	Addr string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("%s %s: address already in use (another process listens there); give another port, or %s 127.0.0.1:0 for any free one",
		e.Flag, e.Addr, e.Flag)
}

// Unwrap lets errors.Is(err, syscall.EADDRINUSE) hold.
func (e *InUseError) Unwrap() error { return syscall.EADDRINUSE }

// TCP listens on addr, which flag named. Any error names flag and addr
// once; an address in use is an *InUseError.
func TCP(flag, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, &InUseError{Flag: flag, Addr: addr}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err // "listen tcp ADDR: " would say the address twice
	}
	return nil, fmt.Errorf("%s %s: %w", flag, addr, err)
}
