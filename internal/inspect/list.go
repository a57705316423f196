package inspect

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/journal"
)

// Query parameters of the list, the rows fragment and the stream: type,
// class (delivered, dropped, resent), show (rejected, duplicate, replay,
// first), q (an i_event or an entity id), before / after (a cursor), limit.
func parseFilter(q url.Values) (journal.Query, error) {
	f := journal.Query{Type: strings.TrimSpace(q.Get("type")), Search: strings.TrimSpace(q.Get("q"))}
	switch c := q.Get("class"); c {
	case "":
	case string(espf.Delivered), string(espf.Dropped), string(espf.Resent):
		f.Class = espf.Outcome(c)
	default:
		return f, fmt.Errorf("class %q: want delivered, dropped or resent", c)
	}
	if s := q.Get("show"); s != "" {
		k, ok := journal.ParseKind(s)
		if !ok {
			return f, fmt.Errorf("show %q: want rejected, duplicate, replay or first", s)
		}
		f.Kinds = []journal.Kind{k}
	}
	for _, p := range []struct {
		name string
		to   **journal.Cursor
	}{{"before", &f.Before}, {"after", &f.After}} {
		if s := q.Get(p.name); s != "" {
			c, err := journal.ParseCursor(s)
			if err != nil {
				return f, fmt.Errorf("%s: %w", p.name, err)
			}
			*p.to = &c
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > journal.MaxLimit {
			return f, fmt.Errorf("limit %q: want 1 to %d rows", s, journal.MaxLimit)
		}
		f.Limit = n
	}
	return f, nil
}

// shown is the one kind the list shows (show=KIND), or "" for every kind.
func shown(f journal.Query) journal.Kind {
	if len(f.Kinds) == 1 {
		return f.Kinds[0]
	}
	return ""
}

// filterQuery is f's selection as a query string (no cursor).
func filterQuery(f journal.Query) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"type": f.Type, "class": string(f.Class), "show": string(shown(f)), "q": f.Search} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 && f.Limit != journal.DefaultLimit {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

type option struct {
	Value, Label string
	Selected     bool
}

// listPage is the list page's data.
type listPage struct {
	PageTitle string
	Live      bool // the page follows the live stream
	Head      header
	Counts    countsView
	Rows      []rowView
	Filter    filterView
	Older     string // the next page's URL, or ""
	Newer     string
	Newest    string // the first page's URL, when this is not it
	Stream    string // the live stream's URL
	Forward   bool
	Filtered  bool
	First     bool // the first page: live rows are added on top
}

type filterView struct {
	Types, Classes, Shows []option
	Search                string
	Query                 string
}

func (ui *UI) filterView(f journal.Query, c journal.Counts) filterView {
	v := filterView{Search: f.Search, Query: filterQuery(f).Encode()}
	types := make([]string, 0, len(c.ByType)+1)
	for t := range c.ByType {
		if t != journal.OtherTypes {
			types = append(types, t)
		}
	}
	if f.Type != "" && !slices.Contains(types, f.Type) {
		types = append(types, f.Type)
	}
	slices.Sort(types)
	v.Types = append(v.Types, option{Value: "", Label: "any type", Selected: f.Type == ""})
	for _, t := range types {
		v.Types = append(v.Types, option{Value: t, Label: esc(t), Selected: t == f.Type})
	}
	for _, o := range []option{{"", "any answer", false}, {string(espf.Delivered), "delivered (200)", false},
		{string(espf.Dropped), "dropped (4xx)", false}, {string(espf.Resent), "re-sent (5xx, none)", false}} {
		o.Selected = o.Value == string(f.Class)
		v.Classes = append(v.Classes, o)
	}
	for _, o := range []option{{"", "every delivery", false}, {string(journal.Rejected), "rejected only", false},
		{string(journal.Duplicate), "duplicates only", false}, {string(journal.Replay), "replays only", false},
		{string(journal.First), "first deliveries only", false}} {
		o.Selected = o.Value == string(shown(f))
		v.Shows = append(v.Shows, o)
	}
	return v
}

// page reads one page of rows and the counters.
func (ui *UI) page(ctx context.Context, f journal.Query) (listPage, error) {
	p := listPage{PageTitle: "deliveries", Live: true, Head: ui.header(), Forward: ui.rc.CanReplay()}
	c, err := ui.j.Counts(ctx)
	if err != nil {
		return p, err
	}
	notKept, _ := ui.j.RejectionsDropped(ctx)
	copiesNotKept, _ := ui.j.CopiesDropped(ctx)
	p.Counts = newCountsView(c, notKept, copiesNotKept)
	p.Filter = ui.filterView(f, c)
	p.Filtered = f.Type != "" || f.Class != "" || len(f.Kinds) > 0 || f.Search != ""
	p.First = f.Before == nil && f.After == nil
	rows, err := ui.j.Page(ctx, f)
	if err != nil {
		return p, err
	}
	for i := range rows.Records {
		p.Rows = append(p.Rows, newRowView(&rows.Records[i]))
	}
	base := filterQuery(f)
	link := func(name string, c *journal.Cursor) string {
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		q.Set(name, c.String())
		return Path + "?" + q.Encode()
	}
	if rows.Older != nil {
		p.Older = link("before", rows.Older)
	}
	if rows.Newer != nil {
		p.Newer = link("after", rows.Newer)
	}
	if !p.First {
		p.Newest = Path
		if len(base) > 0 {
			p.Newest += "?" + base.Encode()
		}
	}
	p.Stream = Path + "stream"
	if len(base) > 0 {
		p.Stream += "?" + base.Encode()
	}
	return p, nil
}

func (ui *UI) list(w http.ResponseWriter, r *http.Request) { ui.renderPage(w, r, "list.html") }

// rows writes the rows of the first page alone, for the live list to
// catch up after its stream was cut.
func (ui *UI) rows(w http.ResponseWriter, r *http.Request) { ui.renderPage(w, r, "rows") }

// renderPage renders the page the request's filter selects with template
// name: the whole list, or its rows alone.
func (ui *UI) renderPage(w http.ResponseWriter, r *http.Request, name string) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, err := ui.page(r.Context(), f)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	ui.render(w, name, p)
}

// render executes a template into a buffer first, so that an error is an
// error page, not half a page.
func (ui *UI) render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := ui.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
