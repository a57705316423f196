package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
)

// ErrNoForward is returned by Replay when serve runs without --forward-to.
var ErrNoForward = errors.New("serve runs without --forward-to: there is no Application to replay to")

// ReplayRequest is one replay of a delivery to the Application (serve's
// inspector): the body and headers as recorded, or as the user edited them.
type ReplayRequest struct {
	Body   []byte
	Header http.Header
	// Date, when set, is the Date sent (an edited one); else the time of
	// the replay, as the ESPF sets it when it sends.
	Date string
	// Source names the row replayed, e.g. "first/7615".
	Source string
}

// ReplayResult is what the Application answered to a replay.
type ReplayResult struct {
	ID          int64        // the replay's row in the journal (kind replay)
	Status      int          // the Application's status; 0: no answer
	Answer      int          // what serve would have answered the ESPF: Status, or 504/502
	Body        []byte       // the Application's answer, up to the forward limit
	ContentType string       //
	MS          float64      // the Application's time, body included
	Error       string       // why there was no answer
	Consequence espf.Outcome // what the ESPF would do with Answer
	Signed      bool         // serve wrote the credential header anew with its --auth
	Notes       []string     // what was changed on the way: a redacted credential dropped, …
}

// Replay sends a recorded (or edited) delivery to the --forward-to
// Application as the ESPF would send it now: the body byte for byte, the
// headers given, a fresh Date, and the credential header signed again with
// serve's --auth when it holds the journal's redacted value (the Date it
// signs changed). The exchange is journaled as a replay row, apart from
// PortaBilling's deliveries: replays change no event.
func (rc *Receiver) Replay(ctx context.Context, rr ReplayRequest) (*ReplayResult, error) {
	f := rc.cfg.Forward
	if f == nil {
		return nil, ErrNoForward
	}
	if int64(len(rr.Body)) > rc.cfg.MaxBody {
		return nil, fmt.Errorf("body of %d bytes, larger than --max-body %d", len(rr.Body), rc.cfg.MaxBody)
	}
	h := http.Header{}
	for name, vs := range rr.Header {
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Content-Length", "X-Espfctl-Omitted", "Date":
			continue
		}
		h[http.CanonicalHeaderKey(name)] = append([]string(nil), vs...)
	}
	now := rc.cfg.Now()
	res := &ReplayResult{}
	if rr.Date != "" {
		if t, err := http.ParseTime(rr.Date); err == nil {
			now = t
		} else {
			res.Notes = append(res.Notes, "the Date given is not an HTTP date: sent as given")
		}
	}
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	for _, name := range sortedNames(h) {
		v := h.Get(name)
		if !rc.IsCredential(name) || !strings.Contains(v, Redacted) {
			continue
		}
		au := rc.cfg.Auth
		if au == nil || !strings.EqualFold(name, au.Header()) {
			h.Del(name)
			res.Notes = append(res.Notes, fmt.Sprintf("%s was redacted in the journal and serve has no credential to write in it: sent without it", name))
			continue
		}
		if err := au.Sign(h, rr.Body, now); err != nil {
			return nil, fmt.Errorf("sign the replay: %w", err)
		}
		res.Signed = true
	}
	if rr.Date != "" {
		h.Set("Date", rr.Date)
	}
	req := &http.Request{Method: http.MethodPost, Header: h, Host: forwardHost(f.URL)}
	x := f.do(ctx, req, rr.Body)
	res.Status, res.Body, res.ContentType, res.Answer = x.status, x.body, x.contentType, x.answerStatus()
	res.MS = float64(x.took.Microseconds()) / 1000
	if x.err != nil {
		res.Error = x.class + ": " + unwrapNet(x.err)
	}
	res.Consequence = espf.Consequence(res.Answer, false)

	r := journal.Record{Time: rc.cfg.Now().UTC(), Auth: AuthNone, AuthScheme: rc.scheme, Status: res.Answer, Source: rr.Source,
		Body: rr.Body, BodySize: int64(len(rr.Body)), Remote: "inspector", Forwarded: true, ForwardMS: &res.MS,
		ForwardError: journal.Clip(Escape(res.Error), maxRejectedReason),
		Headers:      capture(req, rc.creds, rc.keepName, maxHeaderValue, maxHeadersSize)}
	if x.status != 0 {
		r.ForwardStatus = &x.status
	}
	switch {
	case res.Signed:
		r.Auth = AuthOK
	case h.Get(rc.credHeader()) != "":
		r.Auth = "edited"
	}
	if res.Answer != http.StatusOK {
		r.Reason = x.describe(f.Timeout)
	}
	r.Reason = strings.Join(append([]string{r.Reason}, res.Notes...), "; ")
	r.Reason = strings.TrimPrefix(r.Reason, "; ")
	if ev, err := event.Decode(rr.Body); err == nil {
		id, _ := ev.IEvent()
		r.IEvent, r.Type, r.Entity, r.Variables = &id, ev.Type, ev.Entity(), ev.RawVariables
	} else {
		r.Flags = "not an ESPF event: " + err.Error()
	}
	id, err := rc.journal.CommitReplay(r)
	if err != nil {
		return res, fmt.Errorf("the Application answered, but the replay was not journaled: %w", err)
	}
	res.ID = id
	return res, nil
}

// CanReplay reports whether Replay has an Application to send to.
func (rc *Receiver) CanReplay() bool { return rc.cfg.Forward != nil }

// ForwardURL is the --forward-to Application's URL, or "".
func (rc *Receiver) ForwardURL() string {
	if rc.cfg.Forward == nil {
		return ""
	}
	return rc.cfg.Forward.URL
}

// MaxBody is the largest body the receiver accepts (and a replay sends).
func (rc *Receiver) MaxBody() int64 { return rc.cfg.MaxBody }

// Auth is the receiver's credential check (and a replay's signer); nil
// without auth.
func (rc *Receiver) Auth() sign.Auth { return rc.cfg.Auth }

// CredentialHeaders are the headers serve was told carry credentials
// (Authorization, Proxy-Authorization, Cookie, the scheme's header); the
// journal redacts these and every header IsCredential names.
func (rc *Receiver) CredentialHeaders() []string { return append([]string(nil), rc.creds...) }

// IsCredential reports whether the journal redacts the value of the header
// name: one of CredentialHeaders, or a name that says it carries a
// credential (*key*, *token*, *secret*, *auth*, *password*).
func (rc *Receiver) IsCredential(name string) bool { return credential(name, rc.creds) }

// credHeader is the header of the credentials, Authorization without auth.
func (rc *Receiver) credHeader() string {
	if rc.cfg.Auth != nil {
		return rc.cfg.Auth.Header()
	}
	return "Authorization"
}

func forwardHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
