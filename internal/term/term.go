// Package term describes the process's streams: where data and status go,
// whether stdout is a terminal, and whether to color.
package term

import (
	"bytes"
	"io"
	"os"
	"strings"

	xterm "golang.org/x/term"
)

// IO holds the streams a command reads and writes. Data goes to Out,
// status, progress and warnings to Err.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	IsTTY    bool // stdout is a terminal, or ESPFCTL_FORCE_TTY is set
	ErrTTY   bool // stderr is a terminal (live progress goes there)
	Color    bool // paint through Palette
}

// System describes the real process. Color is on only if stdout is a
// terminal, NO_COLOR is empty and TERM is not "dumb".
func System() *IO {
	tty := isTerminal(os.Stdout) || os.Getenv("ESPFCTL_FORCE_TTY") != ""
	return &IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, IsTTY: tty,
		ErrTTY: isTerminal(os.Stderr) || os.Getenv("ESPFCTL_FORCE_TTY") != "",
		Color:  tty && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"}
}

// Test returns an IO over buffers, not a terminal, without color.
func Test() (*IO, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &IO{In: strings.NewReader(""), Out: &out, Err: &errb}, &out, &errb
}

// SetColorMode applies --color=auto|always|never.
func (o *IO) SetColorMode(mode string) {
	switch mode {
	case "always":
		o.Color = true
	case "never":
		o.Color = false
	}
}

func isTerminal(f *os.File) bool { return xterm.IsTerminal(int(f.Fd())) }
