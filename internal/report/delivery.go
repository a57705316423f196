package report

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/verify"
)

// esc is every text field that came from outside (a request, a results
// or scenario file, an Application's answer), made safe for one line of a
// terminal or a tab-separated file: control characters, bidirectional
// overrides and bytes that are not UTF-8 escaped (term.Escape).
func esc(s string) string { return term.Escape(s) }

// Delivery writes one tab-separated line per delivery: time, i_event,
// event type, entity, auth result, answer, first/dup marker, handling time,
// then the notes when there are any: with --forward-to the Application's
// answer and time; the fault; the reason; what the ESPF does with an
// answer other than 200; catalog flags. Text from the request is escaped.
func Delivery(w io.Writer, d verify.Delivery, pal term.Palette) error {
	id, typ, ent := "-", dash(esc(d.Type)), dash(esc(d.Entity))
	if d.IEvent != nil {
		id = strconv.FormatInt(*d.IEvent, 10)
	}
	status := "none"
	if d.Status != 0 {
		status = strconv.Itoa(d.Status)
	}
	consequence := espf.Consequence(d.Status, d.Status == 0)
	switch consequence {
	case espf.Delivered:
		status = pal.Good(status)
	case espf.Dropped:
		status = pal.Bad(status)
	default:
		status = pal.Warn(status)
	}
	auth := d.Auth
	if auth == verify.AuthFailed {
		auth = pal.Bad(auth)
	}
	mark := "-"
	switch {
	case d.Duplicate:
		mark = pal.Warn("dup")
	case d.Status == http.StatusOK && d.IEvent != nil:
		mark = "first"
	}
	line := strings.Join([]string{d.Time.UTC().Format(time.RFC3339), id, typ, ent, auth, status, mark,
		strconv.FormatFloat(d.HandlingMS, 'f', 2, 64) + "ms"}, "\t")
	if notes := deliveryNotes(&d, consequence); len(notes) > 0 {
		line += "\t" + pal.Warn(esc(strings.Join(notes, "; ")))
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

func deliveryNotes(d *verify.Delivery, consequence espf.Outcome) []string {
	var notes []string
	if d.Forwarded {
		notes = append(notes, forwardNote(d))
	}
	if d.Fault != "" {
		notes = append(notes, "fault="+d.Fault)
	}
	if d.Reason != "" && (d.Status != http.StatusOK || d.IEvent == nil) && !d.Forwarded {
		notes = append(notes, d.Reason)
	}
	switch consequence {
	case espf.Dropped:
		notes = append(notes, "the ESPF drops the event")
	case espf.Resent:
		notes = append(notes, "the ESPF re-sends it")
	}
	return append(notes, d.Flags...)
}

// forwardNote is the Application's side of a forwarded delivery:
// "app 500 in 3.10ms", "app timeout after 30.00s", "app unreachable (refused)".
func forwardNote(d *verify.Delivery) string {
	took := ""
	if d.ForwardMS != nil {
		took = strconv.FormatFloat(*d.ForwardMS, 'f', 2, 64) + "ms"
	}
	switch {
	case d.ForwardStatus != nil:
		if line := d.ForwardAnswer.FirstLine(); line != "" {
			return fmt.Sprintf("app %d in %s: %q", *d.ForwardStatus, took, line)
		}
		return fmt.Sprintf("app %d in %s", *d.ForwardStatus, took)
	case d.Status == http.StatusGatewayTimeout:
		return "app gave no answer in time (" + took + "): " + d.ForwardError
	}
	return "app unreachable: " + d.ForwardError
}

// EventTable writes journal events as a table, one at a time: aligned on
// a terminal (pad; it then holds the rows until Flush), else plain
// tab-separated lines written at once.
type EventTable struct{ rowTable }

// rowTable is what the journal's tables share: a term.Table with its header
// on a terminal.
type rowTable struct {
	out *term.Table
}

func newRowTable(w io.Writer, pad bool, header string) rowTable {
	t := rowTable{out: term.NewTable(w, pad, term.Palette{})}
	if pad {
		fmt.Fprintln(t.out, header)
	}
	return t
}

// Flush writes an aligned table out.
func (t *rowTable) Flush() error { return t.out.Flush() }

// NewEventTable starts a table on w.
func NewEventTable(w io.Writer, pad bool) *EventTable {
	return &EventTable{newRowTable(w, pad, "I_EVENT\tEVENT_TYPE\tDELIVERIES\tFIRST_DELIVERY\tLAST_DELIVERY\tAUTH\tAPP\tVARIABLES")}
}

// Write adds one event: a first delivery, read with its variables.
func (t *EventTable) Write(e *journal.Record) error {
	app := "-"
	if e.ForwardStatus != nil {
		app = strconv.Itoa(*e.ForwardStatus)
		if e.ForwardMS != nil {
			app += " " + strconv.FormatFloat(*e.ForwardMS, 'f', 1, 64) + "ms"
		}
	}
	_, err := fmt.Fprintf(t.out, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, esc(e.Type), e.Deliveries,
		e.Time.Format(time.RFC3339), e.LastDelivery.Format(time.RFC3339), esc(e.AuthScheme), app, esc(string(e.Variables)))
	return err
}

// RejectionTable writes rejected deliveries as a table (journal
// --rejected): time, answer, auth scheme and result, remote address,
// i_event, event type, the Application's answer, and the reason.
type RejectionTable struct{ rowTable }

// NewRejectionTable starts a table on w, aligned when pad.
func NewRejectionTable(w io.Writer, pad bool) *RejectionTable {
	return &RejectionTable{newRowTable(w, pad, "TIME\tSTATUS\tAUTH\tREMOTE\tI_EVENT\tEVENT_TYPE\tAPP\tREASON")}
}

// Write adds one rejection.
func (t *RejectionTable) Write(x *journal.Record) error {
	id := "-"
	if x.IEvent != nil {
		id = strconv.FormatInt(*x.IEvent, 10)
	}
	status := "none"
	if x.Status != 0 {
		status = strconv.Itoa(x.Status)
	}
	_, err := fmt.Fprintf(t.out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Time.Format(time.RFC3339Nano), status,
		esc(x.AuthScheme)+"/"+esc(x.Auth), dash(esc(x.Remote)), id, dash(esc(x.Type)), rejectionApp(x), esc(x.Reason))
	return err
}

func rejectionApp(x *journal.Record) string {
	switch {
	case x.ForwardStatus != nil && x.ForwardError == "":
		return strconv.Itoa(*x.ForwardStatus)
	case x.ForwardError != "":
		kind, _, _ := strings.Cut(x.ForwardError, ":")
		return esc(kind)
	}
	return "-"
}

// CopyTable writes the journal's later copies of events as a table
// (journal --copies): time, kind (duplicate or replay), i_event, event
// type, the event's delivery count at that copy, serve's answer, auth
// scheme and result, remote address, and for a replay the row it replayed
// and the Application's answer; then the notes: the reason (a replay's
// notes, why an answer was not 200) and the catalog's flags.
type CopyTable struct{ rowTable }

// NewCopyTable starts a table on w, aligned when pad.
func NewCopyTable(w io.Writer, pad bool) *CopyTable {
	return &CopyTable{newRowTable(w, pad, "TIME\tKIND\tI_EVENT\tEVENT_TYPE\tDELIVERIES\tSTATUS\tAUTH\tREMOTE\tSOURCE\tAPP\tNOTES")}
}

// Write adds one copy.
func (t *CopyTable) Write(r *journal.Record) error {
	id := "-"
	if r.IEvent != nil {
		id = strconv.FormatInt(*r.IEvent, 10)
	}
	n := "-"
	if r.Deliveries > 0 {
		n = strconv.FormatInt(r.Deliveries, 10)
	}
	status := "none"
	if r.Status != 0 {
		status = strconv.Itoa(r.Status)
	}
	_, err := fmt.Fprintf(t.out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Format(time.RFC3339Nano), r.Kind, id,
		dash(esc(r.Type)), n, status, esc(r.AuthScheme)+"/"+esc(r.Auth), dash(esc(r.Remote)), dash(esc(r.Source)),
		appAnswer(r.ForwardStatus, r.ForwardMS, r.ForwardError), dash(esc(copyNotes(r))))
	return err
}

func copyNotes(r *journal.Record) string {
	var notes []string
	for _, s := range []string{r.Reason, r.Flags} {
		if s != "" {
			notes = append(notes, s)
		}
	}
	return strings.Join(notes, "; ")
}

// appAnswer is the Application's answer to a forwarded delivery: "200
// 3.1ms", the error's class ("timeout", "unreachable"), or "-".
func appAnswer(status *int, ms *float64, ferr string) string {
	switch {
	case status != nil && ferr == "":
		s := strconv.Itoa(*status)
		if ms != nil {
			s += " " + strconv.FormatFloat(*ms, 'f', 1, 64) + "ms"
		}
		return s
	case ferr != "":
		kind, _, _ := strings.Cut(ferr, ":")
		return esc(kind)
	}
	return "-"
}

// RawCopy writes a copy's raw capture (journal --copies --raw): a heading,
// the headers as received (credentials redacted) and the body, escaped.
func RawCopy(w io.Writer, d *journal.Record) error {
	id := "no i_event"
	if d.IEvent != nil {
		id = "i_event " + strconv.FormatInt(*d.IEvent, 10)
	}
	status := "no answer"
	if d.Status != 0 {
		status = "answered " + strconv.Itoa(d.Status)
	}
	var head string
	switch d.Kind {
	case journal.Replay:
		head = fmt.Sprintf("== replay of %s (%s %s) at %s, %s; the Application: %s", dash(esc(d.Source)), id, dash(esc(d.Type)),
			d.Time.Format(time.RFC3339Nano), status, appAnswer(d.ForwardStatus, d.ForwardMS, d.ForwardError))
	default:
		head = fmt.Sprintf("== %s of %s %s at %s", d.Kind, id, dash(esc(d.Type)), d.Time.Format(time.RFC3339Nano))
		if d.Remote != "" {
			head += " from " + esc(d.Remote)
		}
		head += fmt.Sprintf(", delivery %d, %s", d.Deliveries, status)
	}
	if notes := copyNotes(d); notes != "" {
		head += ": " + esc(notes)
	}
	return rawBlock(w, head, d.Headers, rawBody(d.Body, d.BodySize, d.BodyRead))
}

// RawEvent writes an event's raw capture (journal --raw): a heading, the
// first delivery's headers as received (credentials redacted) and its
// body, escaped so that it cannot drive the terminal.
func RawEvent(w io.Writer, e *journal.Record) error {
	head := fmt.Sprintf("== i_event %d %s: first delivered %s", e.ID, esc(e.Type), e.Time.Format(time.RFC3339Nano))
	if e.Remote != "" {
		head += " from " + esc(e.Remote)
	}
	head += fmt.Sprintf(", %d deliveries", e.Deliveries)
	if e.ForwardStatus != nil {
		head += fmt.Sprintf(", the Application answered %d", *e.ForwardStatus)
	}
	body := "(no raw capture: the journal predates it)"
	if e.Body != nil || e.Headers != nil {
		body = rawBody(e.Body, int64(len(e.Body)), true)
	}
	return rawBlock(w, head, e.Headers, body)
}

// RawRejection writes a rejected delivery's raw capture (journal
// --rejected --raw).
func RawRejection(w io.Writer, x *journal.Record) error {
	status := "no answer"
	if x.Status != 0 {
		status = strconv.Itoa(x.Status)
	}
	head := fmt.Sprintf("== %s at %s", status, x.Time.Format(time.RFC3339Nano))
	if x.Remote != "" {
		head += " from " + esc(x.Remote)
	}
	head += ": " + esc(x.Reason)
	return rawBlock(w, head, x.Headers, rawBody(x.Body, x.BodySize, x.Body != nil))
}

func rawBody(b []byte, size int64, read bool) string {
	switch {
	case !read && size > 0:
		return fmt.Sprintf("(body not read: %d bytes declared)", size)
	case len(b) == 0:
		return "(empty body)"
	}
	s := escBody(b)
	if size > int64(len(b)) {
		s += fmt.Sprintf("\n(first %d of %d bytes kept)", len(b), size)
	}
	return s
}

// escBody escapes a body for display but keeps its line breaks.
func escBody(b []byte) string {
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		lines[i] = esc(strings.TrimSuffix(l, "\r"))
	}
	return strings.Join(lines, "\n")
}

func rawBlock(w io.Writer, head string, h journal.Headers, body string) error {
	var b strings.Builder
	b.WriteString(head + "\n")
	for _, name := range h.Names() {
		for _, v := range h[name] {
			b.WriteString(esc(name) + ": " + esc(v) + "\n")
		}
	}
	b.WriteString("\n" + body + "\n\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
