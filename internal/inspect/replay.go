package inspect

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

// replayResult is the JSON answer to a replay made from the page's script.
type replayResult struct {
	ID          int64    `json:"id"`
	Href        string   `json:"href"`
	Status      int      `json:"status"` // the Application's; 0: no answer
	Answer      int      `json:"answer"` // what serve would answer the ESPF
	MS          float64  `json:"ms"`
	Error       string   `json:"error,omitempty"`
	Consequence string   `json:"consequence"`
	Words       string   `json:"words"`
	Signed      bool     `json:"signed"`
	Notes       []string `json:"notes,omitempty"`
	Body        string   `json:"body,omitempty"` // the Application's answer, escaped, at most 4 KiB
}

// replay sends a recorded delivery to the Application again: a POST from
// the inspector's own page (session token, same origin), never a GET.
// Form fields: token, from (the row: first/7615), mode (recorded or
// edited), and for edited: headers (one "Name: value" a line) and body.
func (ui *UI) replay(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 2*ui.rc.MaxBody()+64<<10)
	if err := r.ParseForm(); err != nil {
		replayError(w, r, http.StatusBadRequest, "read the form: "+err.Error())
		return
	}
	if err := ui.crossSite(r); err != nil {
		replayError(w, r, http.StatusForbidden, "replay refused: "+err.Error())
		return
	}
	if !ui.rc.CanReplay() {
		replayError(w, r, http.StatusConflict, verify.ErrNoForward.Error())
		return
	}
	kind, id, ok := strings.Cut(r.PostFormValue("from"), "/")
	k, n, err := parseKey(kind, id)
	if !ok || err != nil {
		replayError(w, r, http.StatusBadRequest, fmt.Sprintf("from %q: want the row replayed, e.g. first/7615", r.PostFormValue("from")))
		return
	}
	d, err := ui.j.Get(r.Context(), k, n)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, journal.ErrNotFound) {
			status = http.StatusNotFound
		}
		replayError(w, r, status, err.Error())
		return
	}
	rr := verify.ReplayRequest{Source: d.Key()}
	switch r.PostFormValue("mode") {
	case "recorded", "":
		if !d.Complete() {
			replayError(w, r, http.StatusConflict, "the journal does not have the whole body of this delivery: edit it, then replay")
			return
		}
		rr.Body, rr.Header = d.Body, http.Header(d.Headers)
	case "edited":
		h, date, err := parseHeaderLines(r.PostFormValue("headers"))
		if err != nil {
			replayError(w, r, http.StatusBadRequest, err.Error())
			return
		}
		if d.Headers != nil && len(d.Headers["Date"]) > 0 && date == d.Headers["Date"][0] {
			date = "" // not edited: the time of the replay, as the ESPF sends it
		}
		// A textarea sends its line breaks as CRLF.
		rr.Body, rr.Header, rr.Date = []byte(strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")), h, date
	default:
		replayError(w, r, http.StatusBadRequest, "mode: want recorded or edited")
		return
	}
	// The exchange is bounded by --forward-timeout, which may be longer
	// than the admin listener's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	res, err := ui.rc.Replay(r.Context(), rr)
	if err != nil && res == nil {
		replayError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	out := replayResult{ID: res.ID, Href: Path + "d/replay/" + strconv.FormatInt(res.ID, 10), Status: res.Status, Answer: res.Answer,
		MS: res.MS, Error: esc(res.Error), Consequence: res.Consequence.Words(), Words: consequenceWords(res.Consequence),
		Signed: res.Signed, Notes: res.Notes, Body: escBody([]byte(clipBytes(res.Body, 4<<10)))}
	if err != nil {
		// The Application answered; the journal could not keep it.
		out.Href, out.Error = "", err.Error()
	}
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	if err != nil {
		http.Error(w, out.Error, http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, out.Href, http.StatusSeeOther)
}

func clipBytes(b []byte, n int) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return journal.Clip(s, n)
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func replayError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	http.Error(w, msg, status)
}

// parseHeaderLines reads edited headers, one "Name: value" a line; it
// returns the Date apart. A bad line is an error that says which.
func parseHeaderLines(text string) (http.Header, string, error) {
	h := http.Header{}
	date := ""
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !sign.ValidHeaderName(name) {
			return nil, "", fmt.Errorf("headers line %d: %q: want Name: value", i+1, journal.Clip(esc(line), 80))
		}
		if !validValue(value) {
			return nil, "", fmt.Errorf("headers line %d: the value of %s holds a control character", i+1, esc(name))
		}
		if http.CanonicalHeaderKey(name) == "Date" {
			date = value
			continue
		}
		h.Add(name, value)
	}
	return h, date, nil
}

func validValue(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
