package term

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Table writes lines of tab-separated cells, the one switch between the
// two ways every report is printed:
//
//   - aligned (stdout is a terminal): Flush pads each column to its widest
//     cell as the eye sees it: ANSI colour escapes have no width and wide
//     characters count twice. Columns align within a block of consecutive
//     lines that have that column, as text/tabwriter does; the last cell of
//     a line is not padded. Headings are printed.
//   - plain (a pipe or a file): each line is written as given, cells
//     separated by one tab, for grep and cut. Headings are left out.
//
// A Table is an io.Writer of such lines; Row, Heading and Section are
// shorthands. Nothing is written on an aligned table until Flush.
type Table struct {
	w       io.Writer
	aligned bool
	pal     Palette
	buf     bytes.Buffer // aligned: everything until Flush
	wrote   bool         // something was written (for Section's blank line)
	width   int          // aligned: wrap last cells to fit; 0 = no limit
	err     error
}

// Padding is the number of spaces between aligned columns.
const Padding = 2

// NewTable returns a table writing to w; aligned pads columns (see Table),
// pal paints headings.
func NewTable(w io.Writer, aligned bool, pal Palette) *Table {
	return &Table{w: w, aligned: aligned, pal: pal}
}

// Fit makes an aligned table fit width columns (0 = no limit): a line that
// would be wider wraps its last cell at spaces, continuing under the
// cell's first column. It returns t.
func (t *Table) Fit(width int) *Table {
	t.width = width
	return t
}

// Aligned reports whether the table pads columns (stdout is a terminal).
func (t *Table) Aligned() bool { return t.aligned }

// Palette is the table's palette.
func (t *Table) Palette() Palette { return t.pal }

// Write implements io.Writer: p is text of tab-separated lines.
func (t *Table) Write(p []byte) (int, error) {
	if len(p) > 0 {
		t.wrote = true
	}
	if t.aligned {
		return t.buf.Write(p)
	}
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.w.Write(p)
	t.err = err
	return n, err
}

// Row writes one line of cells.
func (t *Table) Row(cells ...string) {
	_, _ = io.WriteString(t, strings.Join(cells, "\t")+"\n")
}

// Tagged writes a row that plain output starts with tag, for grep ("answer
// 200 12"); an aligned table, under its section's heading, leaves the tag
// out.
func (t *Table) Tagged(tag string, cells ...string) {
	if t.aligned {
		t.Row(cells...)
		return
	}
	t.Row(append([]string{tag}, cells...)...)
}

// More writes "… and N more" under a list that was cut, when n > 0.
func (t *Table) More(tag string, n int64) {
	if n > 0 {
		t.Tagged(tag, fmt.Sprintf("… and %d more", n))
	}
}

// Heading writes a heading line on an aligned table: its cells in bold, so
// that a heading with several cells is aligned with the rows below it. A
// plain table leaves headings out.
func (t *Table) Heading(cells ...string) {
	if !t.aligned {
		return
	}
	for i, c := range cells {
		cells[i] = t.pal.Head(c)
	}
	t.Row(cells...)
}

// Section starts a titled block on an aligned table: a blank line (unless
// it is the first thing written) and the heading.
func (t *Table) Section(cells ...string) {
	if !t.aligned {
		return
	}
	if t.wrote {
		t.Row()
	}
	t.Heading(cells...)
}

// Flush writes an aligned table, and returns the first write error.
func (t *Table) Flush() error {
	if !t.aligned || t.buf.Len() == 0 {
		return t.err
	}
	text := t.buf.String()
	t.buf.Reset()
	if t.err != nil {
		return t.err
	}
	_, t.err = io.WriteString(t.w, alignFit(text, t.width))
	return t.err
}

func alignFit(text string, width int) string {
	trail := !strings.HasSuffix(text, "\n")
	raw := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	lines := make([][]cell, len(raw))
	for i, l := range raw {
		parts := strings.Split(l, "\t")
		cs := make([]cell, len(parts))
		for j, p := range parts {
			cs[j] = cell{text: p, width: ansi.StringWidth(p)}
		}
		lines[i] = cs
	}
	a := &aligner{lines: lines, width: width}
	a.format(0, len(lines))
	out := a.out.String()
	if trail {
		out = strings.TrimSuffix(out, "\n")
	}
	return out
}

type cell struct {
	text  string
	width int
}

type aligner struct {
	width  int // wrap last cells to fit; 0 = no limit
	lines  [][]cell
	widths []int
	out    strings.Builder
}

// format is text/tabwriter's column-block algorithm, on visible widths: a
// column block is a run of consecutive lines that have a cell in that
// column (the last cell of a line does not count); each block is as wide
// as its widest cell plus Padding.
func (a *aligner) format(line0, line1 int) {
	column := len(a.widths)
	for this := line0; this < line1; this++ {
		if column >= len(a.lines[this])-1 {
			continue
		}
		a.writeLines(line0, this)
		line0 = this
		width := 0
		for ; this < line1; this++ {
			l := a.lines[this]
			if column >= len(l)-1 {
				break
			}
			width = max(width, l[column].width+Padding)
		}
		a.widths = append(a.widths, width)
		a.format(line0, this)
		a.widths = a.widths[:len(a.widths)-1]
		line0 = this
	}
	a.writeLines(line0, line1)
}

func (a *aligner) writeLines(line0, line1 int) {
	for _, l := range a.lines[line0:line1] {
		col := 0
		for j, c := range l {
			if j == len(l)-1 && a.width > 0 && col+c.width > a.width && a.width-col >= minWrap {
				a.writeWrapped(c.text, col)
				break
			}
			a.out.WriteString(c.text)
			col += c.width
			if j < len(a.widths) {
				pad := max(a.widths[j]-c.width, 0)
				a.out.WriteString(strings.Repeat(" ", pad))
				col += pad
			}
		}
		a.out.WriteByte('\n')
	}
}

// minWrap is the narrowest room a last cell is wrapped into; with less, the
// line is left long (the terminal wraps it).
const minWrap = 16

// writeWrapped writes text wrapped at spaces into the columns from col to
// the width, each continuation indented to col.
func (a *aligner) writeWrapped(text string, col int) {
	lines := strings.Split(ansi.Wrap(text, a.width-col, ""), "\n")
	for i, l := range lines {
		if i > 0 {
			a.out.WriteString("\n" + strings.Repeat(" ", col))
		}
		a.out.WriteString(strings.TrimRight(l, " "))
	}
}

// Width is the visible width of s: ANSI escapes count nothing, wide
// characters two.
func Width(s string) int { return ansi.StringWidth(s) }

// Truncate cuts s to at most width visible columns, ending it with "…"
// when it was cut; escapes are kept whole.
func Truncate(s string, width int) string {
	if width <= 0 || ansi.StringWidth(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}
