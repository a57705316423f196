package report

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/verify"
)

// deliveryWidth is the width serve's terminal lines are fitted to when the
// terminal's width is unknown.
const deliveryWidth = 80

// deliveryCols is the terminal delivery line's columns at 80: time (UTC),
// i_event, type, entity, auth, answer, first/dup, handling time. type and
// entity take what a wider terminal adds; the notes go after the columns
// when they fit, else on a line of their own under them.
var deliveryCols = []struct {
	head  string
	width int
	right bool
}{
	{"time", 8, false}, {"i_event", 8, true}, {"type", 18, false}, {"entity", 17, false},
	{"auth", 6, false}, {"ans", 4, false}, {"first", 5, false}, {"ms", 7, true},
}

// fitWidths is each column's width for a terminal of width columns: the
// 80-column widths, with what is beyond 80 shared by type and entity (up
// to the widest a type or an entity needs).
func fitWidths(width int) []int {
	if width <= 0 {
		width = deliveryWidth
	}
	ws := make([]int, len(deliveryCols))
	for i, c := range deliveryCols {
		ws[i] = c.width
	}
	extra := max(0, width-deliveryWidth)
	add := min(extra/2, 22) // type: up to 40 columns
	ws[2] += add
	ws[3] += min(extra-add, 43) // entity: up to 60 columns
	return ws
}

// lineWidth is the columns a line of ws takes, one space between columns.
func lineWidth(ws []int) int {
	n := len(ws) - 1
	for _, w := range ws {
		n += w
	}
	return n
}

// DeliveryHeader is the header line over the terminal delivery lines of a
// terminal width columns wide (0: deliveryWidth).
func DeliveryHeader(width int, pal term.Palette) string {
	ws := fitWidths(width)
	cells := make([]string, len(ws))
	for i, c := range deliveryCols {
		cells[i] = pad(c.head, ws[i], c.right)
	}
	cells[0] = pad("time UTC", ws[0], false)
	return pal.Head(strings.TrimRight(strings.Join(cells, " "), " "))
}

// DeliveryFit writes one delivery as DeliveryHeader's columns, fitted to
// width (0: deliveryWidth): a cell that is too long is cut with "…" (the
// full text is in the journal, --json and the inspector), and the notes
// (reason, fault, what the ESPF does) follow on the line when they fit, or
// on their own indented line, wrapped, under it. No line is wider than
// width.
func DeliveryFit(w io.Writer, d verify.Delivery, pal term.Palette, width int) error {
	if width <= 0 {
		width = deliveryWidth
	}
	ws := fitWidths(width)
	id := "-"
	if d.IEvent != nil {
		id = strconv.FormatInt(*d.IEvent, 10)
	}
	status := "none"
	if d.Status != 0 {
		status = strconv.Itoa(d.Status)
	}
	consequence := espf.Consequence(d.Status, d.Status == 0)
	paintStatus := pal.Warn
	switch consequence {
	case espf.Delivered:
		paintStatus = pal.Good
	case espf.Dropped:
		paintStatus = pal.Bad
	}
	mark, paintMark := "-", func(s string) string { return s }
	switch {
	case d.Duplicate:
		mark, paintMark = "dup", pal.Warn
	case d.Status == http.StatusOK && d.IEvent != nil:
		mark = "first"
	}
	paintAuth := func(s string) string { return s }
	if d.Auth == verify.AuthFailed {
		paintAuth = pal.Bad
	}
	cells := []string{d.Time.UTC().Format(time.TimeOnly), id, dash(esc(d.Type)), dash(esc(d.Entity)),
		d.Auth, status, mark, strconv.FormatFloat(d.HandlingMS, 'f', 2, 64)}
	paint := []func(string) string{nil, nil, nil, nil, paintAuth, paintStatus, paintMark, nil}
	// A number is never cut: a wider one takes its columns from the
	// entity, then the type.
	for _, i := range []int{1, 7} {
		over := len(cells[i]) - ws[i]
		if over <= 0 {
			continue
		}
		ws[i] += over
		for _, j := range []int{3, 2} {
			take := min(over, max(0, ws[j]-8))
			ws[j] -= take
			over -= take
		}
	}
	var b strings.Builder
	for i, c := range cells {
		c = pad(term.Truncate(c, ws[i]), ws[i], deliveryCols[i].right)
		if paint[i] != nil {
			c = paint[i](c)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c)
	}
	line := strings.TrimRight(b.String(), " ")
	notes := esc(strings.Join(deliveryNotes(&d, consequence), "; "))
	switch {
	case notes == "":
	case lineWidth(ws)+2+term.Width(notes) <= width:
		line = b.String() + "  " + pal.Warn(notes)
	default:
		for _, l := range wrap(notes, width-4) {
			line += "\n    " + pal.Warn(l)
		}
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// pad pads s with spaces to width visible columns, on the left when right.
func pad(s string, width int, right bool) string {
	n := width - term.Width(s)
	if n <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", n) + s
	}
	return s + strings.Repeat(" ", n)
}

// wrap breaks s at spaces into lines of at most width columns; a word
// longer than width is cut with "…".
func wrap(s string, width int) []string {
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		word = term.Truncate(word, width)
		switch {
		case cur == "":
			cur = word
		case term.Width(cur)+1+term.Width(word) <= width:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}
