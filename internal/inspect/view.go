package inspect

import (
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/verify"
)

// Colour classes, the terminal's meanings (internal/term.Palette): ok is
// delivered (green), warn a re-send or a duplicate (amber), bad dropped or
// refused (red).
const (
	clsOK   = "ok"
	clsWarn = "warn"
	clsBad  = "bad"
)

var funcs = template.FuncMap{
	"num":    num,
	"rowCtx": func(v rowView, forward bool) rowCtx { return rowCtx{rowView: v, Forward: forward} },
}

// rowCtx is a row with what its template needs from the page.
type rowCtx struct {
	rowView
	Forward bool
}

// num writes n with thin separators: 1 000 000.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u2009")
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// esc makes text from a request safe to read: control characters and
// bidirectional overrides become visible escapes, as in every text output.
func esc(s string) string { return verify.Escape(s) }

// rowView is a Row as the list shows it.
type rowView struct {
	Key, Href, Kind string
	Badge, BadgeCls string // "dup", "replay", or a rejected delivery's consequence: "re-sent · by serve", "dropped"
	Time, TimeISO   string
	Type, Entity    string
	IEvent          string
	Copies          string
	Auth, AuthCls   string // the verdict: the scheme, or why it was refused
	Answer          string // serve's answer
	AnswerNote      string // why it was not 200, when the answer is serve's own
	App, AppCls     string // the Application's answer (--forward-to)
	ESPF, ESPFCls   string // what the ESPF does with the answer
	Deliveries      int64
	IEventN         string
}

func consequenceClass(o espf.Outcome) string {
	switch o {
	case espf.Delivered:
		return clsOK
	case espf.Dropped:
		return clsBad
	}
	return clsWarn
}

// consequenceWords is what the ESPF does, in a sentence.
func consequenceWords(o espf.Outcome) string {
	switch o {
	case espf.Delivered:
		return "delivered: the ESPF removes the event from its queue"
	case espf.Dropped:
		return "dropped: a 4xx makes the ESPF remove the event without provisioning it — it is lost"
	}
	return "re-sent: the ESPF keeps the event and sends it again later"
}

func statusText(st int) string {
	if st == 0 {
		return "none"
	}
	return strconv.Itoa(st)
}

func ms(p *float64) string {
	if p == nil {
		return ""
	}
	switch v := *p; {
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	default:
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	}
}

// authVerdict is the auth column: the scheme when it passed, else why
// the request was refused, in words.
func authVerdict(r *journal.Record) (string, string) {
	switch r.Auth {
	case verify.AuthOK:
		if r.Kind == journal.Replay {
			return "signed by serve · " + esc(r.AuthScheme), ""
		}
		return esc(r.AuthScheme) + " ✓", ""
	case verify.AuthNone:
		if r.Kind == journal.Replay {
			return "no credentials", ""
		}
		return "not checked (--no-auth)", ""
	case verify.AuthFailed:
		return "refused: " + esc(reasonOnly(r.Reason)), clsBad
	case verify.AuthSkip:
		return "not checked: " + esc(reasonOnly(r.Reason)), clsBad
	case "edited":
		return "as edited", clsWarn
	}
	return esc(r.Auth), ""
}

// reasonOnly drops the catalog flags appended to a rejection's reason.
func reasonOnly(s string) string {
	if i := strings.Index(s, " ["); i > 0 && strings.HasSuffix(s, "]") {
		return s[:i]
	}
	return s
}

func appView(r *journal.Record) (string, string) {
	if !r.Forwarded {
		return "", ""
	}
	if r.ForwardStatus != nil {
		return strconv.Itoa(*r.ForwardStatus) + " · " + ms(r.ForwardMS), consequenceClass(espf.Consequence(*r.ForwardStatus, false))
	}
	kind, _, _ := strings.Cut(r.ForwardError, ":")
	switch {
	case r.Status == http.StatusGatewayTimeout:
		return "no answer in time", clsWarn
	case kind != "":
		return "unreachable (" + esc(kind) + ")", clsWarn
	}
	return "no answer", clsWarn
}

func newRowView(r *journal.Record) rowView {
	v := rowView{Key: r.Key(), Href: Path + "d/" + r.Key(), Kind: string(r.Kind), Time: r.Time.Format("15:04:05.000"),
		TimeISO: r.Time.Format(time.RFC3339Nano), Type: esc(r.Type), Entity: esc(r.Entity), Answer: statusText(r.Status),
		Deliveries: r.Deliveries}
	if v.Type == "" {
		v.Type = "—"
	}
	if r.IEvent != nil {
		v.IEvent = strconv.FormatInt(*r.IEvent, 10)
		v.IEventN = v.IEvent
	}
	switch r.Kind {
	case journal.Duplicate:
		v.Badge, v.BadgeCls = "dup", clsWarn
	case journal.Replay:
		v.Badge, v.BadgeCls = "replay", "replay"
	case journal.Rejected:
		// What the ESPF does with the answer (re-sent, dropped), marked
		// "by serve" when serve refused it itself (auth, method, size, a
		// fault) rather than passing on the Application's answer.
		o := r.Consequence()
		v.Badge, v.BadgeCls = o.Words(), consequenceClass(o)
		if !r.Forwarded {
			v.Badge += " · by serve"
		}
	}
	if r.Deliveries > 0 {
		v.Copies = strconv.FormatInt(r.Deliveries, 10)
	}
	v.Auth, v.AuthCls = authVerdict(r)
	if r.Status != http.StatusOK && r.Auth != verify.AuthFailed && r.Auth != verify.AuthSkip && !r.Forwarded {
		v.AnswerNote = esc(r.Reason)
	}
	v.App, v.AppCls = appView(r)
	o := r.Consequence()
	v.ESPF, v.ESPFCls = o.Words(), consequenceClass(o)
	return v
}

// countsView is the counters on top of the list.
type countsView struct {
	Delivered, Duplicates, Rejected, Replays int64
	NotKept                                  int64 // rejections the journal did not keep
	CopiesNotKept                            int64 // duplicate copies it did not keep (counted in Duplicates)
	ByAnswer                                 []chip
	ByType                                   []chip // the most frequent first
	MoreTypes                                []chip
}

type chip struct {
	Label string
	N     int64
	Cls   string
	Href  string
}

func newCountsView(c journal.Counts, notKept, copiesNotKept int64) countsView {
	v := countsView{Delivered: c.Events, Duplicates: c.Duplicates, Rejected: c.Rejected, Replays: c.Replays, NotKept: notKept,
		CopiesNotKept: copiesNotKept}
	for st, n := range c.ByAnswer {
		o := espf.Consequence(st, st == 0)
		v.ByAnswer = append(v.ByAnswer, chip{Label: statusText(st), N: n, Cls: consequenceClass(o),
			Href: Path + "?class=" + string(o)})
	}
	slices.SortFunc(v.ByAnswer, func(a, b chip) int { return cmp.Compare(a.Label, b.Label) })
	for t, n := range c.ByType {
		v.ByType = append(v.ByType, chip{Label: esc(t), N: n, Href: Path + "?type=" + url.QueryEscape(t)})
	}
	slices.SortFunc(v.ByType, func(a, b chip) int { return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Label, b.Label)) })
	if len(v.ByType) > 8 {
		v.ByType, v.MoreTypes = v.ByType[:8], v.ByType[8:]
	}
	return v
}

// header is what every page shows on top.
type header struct {
	URL, Auth, Forward, Journal string
	Token                       string
}

func (ui *UI) header() header {
	h := header{URL: ui.cfg.URL, Auth: "none (--no-auth)", Forward: ui.rc.ForwardURL(), Journal: ui.cfg.Journal, Token: ui.token}
	if au := ui.rc.Auth(); au != nil {
		h.Auth = au.Scheme() + " in " + au.Header()
	}
	if h.Journal == "" {
		h.Journal = "in memory"
	}
	return h
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%s %s", num(n), one)
	}
	return fmt.Sprintf("%s %s", num(n), many)
}
