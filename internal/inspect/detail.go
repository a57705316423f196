package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/verify"
)

// detailPage is one delivery in full.
type detailPage struct {
	PageTitle   string
	Live        bool
	Head        header
	Row         rowView
	Title       string
	Kind        string
	Remote      string
	Reason      string
	Flags       string
	Answer      string
	AnswerCls   string
	Consequence string
	App         string
	AppCls      string
	AppError    string
	AppSaid     string // the Application's answer body when it was not a plain delivery (escaped, at most 4 KiB)
	AppSaidInfo string // its status line and whether it was cut
	Source      string
	SourceHref  string
	Headers     []headerLine
	BodyInfo    string
	Pretty      string // the body as indented JSON, or "" when it is not JSON
	Raw         string // the body as received (escaped for display), its first bodyShown bytes when BodyCut
	BodyCut     bool   // the body is larger than the page shows
	BodyHref    string
	Attempts    []attemptView
	NotListed   int64 // 200 answers not among Attempts: copies past --max-copies, or past the list's limit
	ListLimit   int   // the most rows of each kind Attempts shows
	Curl        string
	CurlTarget  string
	CurlWhy     string // why there is no reproducer
	SendLine    string
	SendWhy     string
	Forward     string // the Application's URL; "" without --forward-to
	CanRecorded bool   // the recorded body is whole: it can be replayed as is
	EditHeaders string // the headers to edit, one per line
	EditBody    string
	Key         string
	Date        string // the recorded Date
}

type headerLine struct {
	Name, Value string
	Redacted    bool
}

type attemptView struct {
	rowView
	Current bool
}

// parseKey reads the row a URL names: /ui/d/{kind}/{id}.
func parseKey(kind, id string) (journal.Kind, int64, error) {
	k, ok := journal.ParseKind(kind)
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil {
		return "", 0, fmt.Errorf("no delivery %s/%s: want /ui/d/KIND/ID (first, duplicate, rejected, replay)", kind, id)
	}
	return k, n, nil
}

// bodyShown is how much of a body the detail page shows (and its edit form
// and reproducers hold): a view costs the same whatever --max-body is, and
// the rest is behind the download link, which streams it.
const bodyShown = 64 << 10

// loadDetail reads the row the URL names, with at most n bytes of its body
// (cut: there is more).
func (ui *UI) loadDetail(w http.ResponseWriter, r *http.Request, n int) (d *journal.Record, cut bool) {
	k, id, err := parseKey(r.PathValue("kind"), r.PathValue("id"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return nil, false
	}
	d, cut, err = ui.j.GetHead(r.Context(), k, id, n)
	switch {
	case errors.Is(err, journal.ErrNotFound):
		msg := err.Error()
		switch k {
		case journal.Rejected:
			msg += fmt.Sprintf(" (the journal keeps the newest %d rejected deliveries: --max-rejected)", ui.j.MaxRejected())
		case journal.Duplicate:
			msg += fmt.Sprintf(" (the journal keeps the newest %d duplicate copies: --max-copies)", ui.j.MaxCopies())
		}
		http.Error(w, msg, http.StatusNotFound)
		return nil, false
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return nil, false
	}
	return d, cut
}

func (ui *UI) detail(w http.ResponseWriter, r *http.Request) {
	d, cut := ui.loadDetail(w, r, bodyShown)
	if d == nil {
		return
	}
	p := detailPage{Head: ui.header(), Row: newRowView(d), Kind: string(d.Kind), Remote: esc(d.Remote),
		Flags: esc(d.Flags), Forward: ui.rc.ForwardURL(), Key: d.Key(), BodyHref: Path + "d/" + d.Key() + "/body"}
	p.Title = p.Row.Type
	if p.Row.IEvent != "" {
		p.Title += " · i_event " + p.Row.IEvent
	}
	p.PageTitle = p.Title
	if d.Status != http.StatusOK || d.Kind == journal.Replay {
		p.Reason = esc(d.Reason)
	}
	o := d.Consequence()
	p.Answer, p.AnswerCls, p.Consequence = statusText(d.Status), consequenceClass(o), consequenceWords(o)
	p.App, p.AppCls = appView(d)
	p.AppError = esc(d.ForwardError)
	if a := d.ForwardAnswer; a != nil {
		p.AppSaid = escBody([]byte(a.Body))
		p.AppSaidInfo = statusText(a.Status)
		if a.Truncated {
			p.AppSaidInfo += ", the first 4 KiB"
		}
	}
	if d.Source != "" {
		p.Source = esc(d.Source)
		if k, id, ok := strings.Cut(d.Source, "/"); ok {
			if _, _, err := parseKey(k, id); err == nil {
				p.SourceHref = Path + "d/" + d.Source
			}
		}
	}
	var edit strings.Builder
	for _, name := range d.Headers.Names() {
		for _, v := range d.Headers[name] {
			red := strings.Contains(v, verify.Redacted) && ui.rc.IsCredential(name)
			p.Headers = append(p.Headers, headerLine{Name: esc(name), Value: esc(v), Redacted: red})
			switch name {
			case "Host", "Content-Length", "X-Espfctl-Omitted":
				continue
			case "Date":
				p.Date = v
				continue
			}
			edit.WriteString(name + ": " + v + "\n")
		}
	}
	p.EditHeaders = edit.String()
	p.CanRecorded = d.BodyRead && (cut || d.Complete())
	if cut {
		p.BodyCut = true
		p.BodyInfo, p.Raw = cutBodyView(d)
	} else {
		p.BodyInfo, p.Raw, p.Pretty = bodyViews(d)
		p.EditBody = strings.ToValidUTF8(string(d.Body), "\uFFFD")
	}
	if d.IEvent != nil {
		att, err := ui.j.Attempts(r.Context(), *d.IEvent)
		if err == nil {
			p.NotListed, p.ListLimit = notListed(att), journal.MaxLimit
			for i := range att {
				p.Attempts = append(p.Attempts, attemptView{rowView: newRowView(&att[i]), Current: att[i].Key() == d.Key()})
			}
		}
	}
	if cut {
		p.CurlWhy = tooLarge
		p.SendWhy = tooLarge
	} else {
		p.Curl, p.CurlTarget, p.CurlWhy = ui.curl(d)
		p.SendLine, p.SendWhy = sendLine(d)
	}
	ui.render(w, "detail.html", p)
}

// tooLarge is why a page with a cut body has no reproducer.
var tooLarge = fmt.Sprintf("the body is larger than the %d KiB this page shows: open the raw bytes to download it", bodyShown>>10)

// cutBodyView describes a body the page shows only the start of, and
// gives that start escaped (a character cut at the end left out).
func cutBodyView(d *journal.Record) (info, raw string) {
	head := d.Body
	for i := 0; i < utf8.UTFMax && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	if !utf8.Valid(head) {
		head = d.Body
	}
	info = fmt.Sprintf("%s; the first %s shown: open the raw bytes for the whole body",
		plural(d.BodySize, "byte", "bytes"), plural(int64(len(head)), "byte", "bytes"))
	return info, escBody(head) + "\n…"
}

// notListed is how many of an event's 200 answers are not among its
// attempts: the first delivery counts them all, but the journal keeps only
// the newest --max-copies copies and Attempts lists at most MaxRowLimit.
func notListed(att []journal.Record) int64 {
	var total, listed int64
	for i := range att {
		switch att[i].Kind {
		case journal.First:
			total = att[i].Deliveries
			listed++
		case journal.Duplicate:
			listed++
		}
	}
	return max(total-listed, 0)
}

// bodyViews describes the body and gives it raw (escaped) and, when it is
// JSON, indented.
func bodyViews(d *journal.Record) (info, raw, pretty string) {
	switch {
	case !d.BodyRead:
		return fmt.Sprintf("not read: serve refused the request from its headers (%d bytes declared)", d.BodySize), "", ""
	case d.BodySize == 0:
		return "empty", "", ""
	}
	info = plural(d.BodySize, "byte", "bytes")
	if !d.Complete() {
		info = fmt.Sprintf("the first %s of %s kept (a rejected delivery's body is kept up to %d bytes)",
			plural(int64(len(d.Body)), "byte", "bytes"), plural(d.BodySize, "byte", "bytes"), verify.MaxRejectedBody)
	}
	if !utf8.Valid(d.Body) {
		info += ", not valid UTF-8 (bytes shown as \\xNN)"
	}
	raw = escBody(d.Body)
	if js := d.BodyJSON(); js != nil {
		var buf bytes.Buffer
		if json.Indent(&buf, js, "", "  ") == nil {
			pretty = escBody(buf.Bytes())
		}
	}
	return info, raw, pretty
}

// escBody escapes a body for display, keeping its line breaks.
func escBody(b []byte) string {
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		lines[i] = esc(strings.TrimSuffix(l, "\r"))
	}
	return strings.Join(lines, "\n")
}

// curl is the delivery's reproducer (check's, secrets as $ESPFCTL_*
// references), to the Application with --forward-to, else to serve.
func (ui *UI) curl(d *journal.Record) (cmd, target, why string) {
	if !d.Complete() {
		return "", "", "the journal does not have the whole body of this delivery"
	}
	target = ui.rc.ForwardURL()
	if target == "" {
		target = ui.cfg.URL
	}
	creds := ui.cfg.Creds
	if d.Kind == journal.Replay && d.Auth != verify.AuthOK {
		creds.Scheme = "" // the replay carried the user's own header, or none
	}
	cmd, err := check.Reproducer(target, creds, http.Header(d.Headers), d.Body, nil)
	if err != nil {
		return "", "", err.Error()
	}
	return cmd, target, ""
}

// sendLine is the delivery as a journal --json line, the form
// `espfctl send --events` replays byte for byte: a first delivery's own,
// else an event line made of the body.
func sendLine(d *journal.Record) (string, string) {
	e := *d
	switch {
	case d.Kind == journal.First:
	case !d.Complete():
		return "", "the journal does not have the whole body of this delivery"
	default:
		ev, err := event.Decode(d.Body)
		if err != nil {
			return "", "the body is not an ESPF event: " + err.Error()
		}
		id, _ := ev.IEvent()
		e = journal.Record{Kind: journal.First, ID: id, IEvent: &id, Type: ev.Type, Variables: ev.RawVariables,
			Deliveries: max(d.Deliveries, 1), Time: d.Time, LastDelivery: d.Time, AuthScheme: d.AuthScheme, Status: d.Status,
			Body: d.Body, Headers: d.Headers, Remote: d.Remote}
		if d.ForwardStatus != nil {
			e.Forwarded, e.ForwardStatus, e.ForwardMS = true, d.ForwardStatus, d.ForwardMS
		}
	}
	b, err := e.MarshalJSON()
	if err != nil {
		return "", err.Error()
	}
	return string(b), ""
}

// body writes the body exactly as the journal keeps it. One larger than
// bodyShown is streamed from the journal a chunk at a time (read twice:
// first to learn whether it is UTF-8 text), never held whole.
func (ui *UI) body(w http.ResponseWriter, r *http.Request) {
	d, cut := ui.loadDetail(w, r, bodyShown)
	if d == nil {
		return
	}
	size, text := int64(len(d.Body)), utf8.Valid(d.Body)
	if cut {
		var v utf8Check
		n, err := ui.j.WriteBody(r.Context(), d.Kind, d.ID, &v)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		size, text = n, v.valid()
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if !text {
		h.Set("Content-Type", "application/octet-stream")
	}
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Content-Disposition", `inline; filename="`+string(d.Kind)+"-"+strconv.FormatInt(d.ID, 10)+`.body"`)
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	if !cut {
		_, _ = w.Write(d.Body)
		return
	}
	if n, err := ui.j.WriteBody(r.Context(), d.Kind, d.ID, w); err != nil || n != size {
		panic(http.ErrAbortHandler) // the length was promised: cut the connection, not the body
	}
}

// utf8Check is a writer that learns whether what is written is UTF-8,
// across writes.
type utf8Check struct {
	carry []byte // the start of a character cut by the last write
	bad   bool
}

func (c *utf8Check) Write(p []byte) (int, error) {
	n := len(p)
	if c.bad {
		return n, nil
	}
	if len(c.carry) > 0 {
		p = append(c.carry, p...)
		c.carry = nil
	}
	// Keep back an incomplete character at the end.
	end := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				end = i
			}
			break
		}
	}
	if !utf8.Valid(p[:end]) {
		c.bad = true
		return n, nil
	}
	c.carry = append([]byte(nil), p[end:]...)
	return n, nil
}

func (c *utf8Check) valid() bool { return !c.bad && len(c.carry) == 0 }
