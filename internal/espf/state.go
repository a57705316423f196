package espf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/sign"
)

// The state URL (send and check --state-url, a scenario's
// target.state_url) is where an Application shows what it holds for one
// entity: GET it with {group} (subscriber, customer, invoice, did) and {id}
// filled in, with the delivery credentials, and the Application answers
// 200 {"exists": bool, "i_event": N, "applied": M} (i_event optional: the
// last event it applied to the entity; applied optional: how many of the
// entity's lifecycle events it applied, a repeat included) or 404 (it
// holds nothing).

// ErrStateURL is wrapped by CheckStateURL's errors.
var ErrStateURL = errors.New("invalid state URL")

// CheckStateURL checks a state URL template: an http(s) URL with {group}
// and {id}. Its errors never quote the template (it may hold credentials).
func CheckStateURL(tmpl string) error {
	for _, p := range []string{"{group}", "{id}"} {
		if !strings.Contains(tmpl, p) {
			return fmt.Errorf("%w: it needs %s, e.g. http://localhost:8080/state/{group}/{id}", ErrStateURL, p)
		}
	}
	u, err := url.Parse(StateURL(tmpl, entity.Key{Group: entity.Subscriber, ID: "1"}))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: want an http:// or https:// URL with a host", ErrStateURL)
	}
	return nil
}

// StateURL fills the template in for one entity. The id is escaped so that
// it is safe in a path and in a query.
func StateURL(tmpl string, k entity.Key) string {
	id := strings.ReplaceAll(url.QueryEscape(k.ID), "+", "%20")
	return strings.ReplaceAll(strings.ReplaceAll(tmpl, "{group}", string(k.Group)), "{id}", id)
}

// StateAnswer is what the Application answered for one entity.
type StateAnswer struct {
	State     entity.State
	HasIEvent bool // the answer named the last i_event applied
	// Applied is the answer's optional "applied": how many of the
	// entity's lifecycle events the Application applied, a repeat
	// included (HasApplied: the answer gave it).
	Applied    int64
	HasApplied bool
	Unusable   string // set when the answer was neither 200 {"exists": …} nor 404: "HTTP 500", "timeout", …
}

// ReadState GETs one entity's state from the Application with auth's
// credentials (a fresh Date and signature) and the extra headers, within
// timeout.
func ReadState(ctx context.Context, client *http.Client, tmpl string, k entity.Key, auth sign.Signer, headers http.Header, timeout time.Duration) StateAnswer {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, StateURL(tmpl, k), nil)
	if err != nil {
		return StateAnswer{Unusable: "nothing: the URL is invalid"}
	}
	for name, vs := range headers {
		req.Header[name] = append([]string(nil), vs...)
	}
	now := time.Now()
	if auth != nil {
		if err := auth.Sign(req.Header, nil, now); err != nil {
			return StateAnswer{Unusable: "nothing: signing failed: " + err.Error()}
		}
	}
	if req.Header.Get("Date") == "" {
		req.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	}
	resp, err := client.Do(req)
	if err != nil {
		return StateAnswer{Unusable: ErrorClass(err, errors.Is(ctx.Err(), context.DeadlineExceeded))}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusNotFound:
		return StateAnswer{HasApplied: true} // it holds nothing: nothing applied
	case http.StatusOK:
	default:
		return StateAnswer{Unusable: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
	var ans struct {
		Exists  *bool `json:"exists"`
		IEvent  any   `json:"i_event"`
		Applied any   `json:"applied"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&ans); err != nil || ans.Exists == nil {
		return StateAnswer{Unusable: fmt.Sprintf("200 with %q", shortText(body))}
	}
	a := StateAnswer{State: entity.State{Exists: *ans.Exists}}
	if ans.IEvent != nil {
		n, ok := stateIEvent(ans.IEvent)
		if !ok {
			return StateAnswer{Unusable: fmt.Sprintf("200 with i_event %v, not an integer", ans.IEvent)}
		}
		a.State.IEvent, a.HasIEvent = n, true
	}
	if ans.Applied != nil {
		n, ok := stateIEvent(ans.Applied)
		if !ok {
			return StateAnswer{Unusable: fmt.Sprintf("200 with applied %v, not an integer", ans.Applied)}
		}
		a.Applied, a.HasApplied = n, true
	}
	return a
}

// Words says in words why an unusable answer could not be compared.
func (a StateAnswer) Words() string {
	return fmt.Sprintf("the state URL answered %s: want 200 {\"exists\": true|false, \"i_event\": N} or 404", a.Unusable)
}

func stateIEvent(v any) (int64, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

func shortText(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
