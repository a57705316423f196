package term

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Palette colours text by what it means. It is the one place that says
// which colour a meaning has; every rendering (reports, check's table,
// serve's delivery line, verify's explanation) paints through it. With
// colour off, and for the zero value, every method returns text unchanged,
// so machine output (TSV, JSON) never carries escapes.
type Palette struct {
	r *lipgloss.Renderer // nil: no colour
}

// NewPalette returns a palette that colours when on is set.
func NewPalette(on bool) Palette {
	if !on {
		return Palette{}
	}
	r := lipgloss.NewRenderer(io.Discard) // only its colour profile is used
	r.SetColorProfile(termenv.ANSI256)
	return Palette{r: r}
}

// Palette returns the palette of this IO's colour decision (--color, NO_COLOR,
// a terminal on stdout).
func (o *IO) Palette() Palette { return NewPalette(o.Color) }

func (p Palette) paint(text string, style func(lipgloss.Style) lipgloss.Style) string {
	if p.r == nil || text == "" {
		return text
	}
	return style(p.r.NewStyle()).Render(text)
}

// Good is a success: delivered, pass, valid (green, bold).
func (p Palette) Good(text string) string {
	return p.paint(text, func(s lipgloss.Style) lipgloss.Style { return s.Foreground(lipgloss.Color("2")).Bold(true) })
}

// Bad is a failure: dropped, FAIL, invalid, interrupted (red, bold).
func (p Palette) Bad(text string) string {
	return p.paint(text, func(s lipgloss.Style) lipgloss.Style { return s.Foreground(lipgloss.Color("1")).Bold(true) })
}

// Warn is something to look at that did not fail: a re-send, a duplicate,
// a warning grade (yellow, bold).
func (p Palette) Warn(text string) string {
	return p.paint(text, func(s lipgloss.Style) lipgloss.Style { return s.Foreground(lipgloss.Color("3")).Bold(true) })
}

// Head is a heading (bold).
func (p Palette) Head(text string) string {
	return p.paint(text, func(s lipgloss.Style) lipgloss.Style { return s.Bold(true) })
}

// Dim is a detail that matters less (faint).
func (p Palette) Dim(text string) string {
	return p.paint(text, func(s lipgloss.Style) lipgloss.Style { return s.Faint(true) })
}

// Level paints by a grade's name: "pass" Good, "warn" Warn, "fail" Bad;
// any other level is left plain.
func (p Palette) Level(level, text string) string {
	switch level {
	case "pass":
		return p.Good(text)
	case "warn":
		return p.Warn(text)
	case "fail":
		return p.Bad(text)
	}
	return text
}
