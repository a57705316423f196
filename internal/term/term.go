// Package term describes the process's streams: where data and status go,
// whether stdout is a terminal, and whether to color.
package term

import (
	"io"
	"os"
	"strconv"

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
	Width    int  // stdout's columns when it is a terminal; 0 = unknown (no fitting)
	ErrWidth int  // stderr's columns when it is a terminal; 0 = unknown
}

// Layout is how a rendering lays out text: aligned or plain, painted or
// not, and the width to fit (0 = no limit).
type Layout struct {
	Aligned bool
	Palette Palette
	Width   int
}

// Layout is this IO's layout for stdout: aligned and fitted on a terminal.
func (o *IO) Layout() Layout { return Layout{Aligned: o.IsTTY, Palette: o.Palette(), Width: o.Width} }

// Table returns a table with this layout on w.
func (l Layout) Table(w io.Writer) *Table { return NewTable(w, l.Aligned, l.Palette).Fit(l.Width) }

// System describes the real process. Color is on only if stdout is a
// terminal, NO_COLOR is empty and TERM is not "dumb".
func System() *IO {
	tty := isTerminal(os.Stdout) || os.Getenv("ESPFCTL_FORCE_TTY") != ""
	return &IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, IsTTY: tty,
		ErrTTY:   isTerminal(os.Stderr) || os.Getenv("ESPFCTL_FORCE_TTY") != "",
		Color:    tty && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb",
		Width:    width(os.Stdout),
		ErrWidth: width(os.Stderr)}
}

// width is a terminal's columns: its size, else $COLUMNS; 0 when f is not
// a terminal.
func width(f *os.File) int {
	if !isTerminal(f) {
		if os.Getenv("ESPFCTL_FORCE_TTY") == "" {
			return 0
		}
	} else if w, _, err := xterm.GetSize(int(f.Fd())); err == nil && w > 0 {
		return w
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 0
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
