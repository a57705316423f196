package espf

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// ReplyBodyLimit is how much of an answer's body is kept: enough for an
// exception's message and the first lines of its trace.
const ReplyBodyLimit = 4 << 10

// Reply is what the Application answered, kept for the attempts that were
// not a plain delivery (any status but 200, and a 200 whose body reads as
// a failure): the Application's own words are the fastest clue to its bug.
// The ESPF itself reads only the status.
type Reply struct {
	Status    int         `json:"status"`
	Headers   http.Header `json:"headers,omitempty"`
	Body      string      `json:"body"`                // the first ReplyBodyLimit bytes, as received (invalid UTF-8 as U+FFFD)
	Truncated bool        `json:"truncated,omitempty"` // the body was longer
}

// Keep reports whether an answer with this status and the start of its
// body is worth keeping: anything but 200, and a 200 that reads as a
// failure.
func Keep(status int, head []byte) bool {
	return status != http.StatusOK || FailureBody(head)
}

// FailureBody reports whether a 200's body says that the work failed: a
// JSON object with "success" or "ok" false, a "status" of error, fail or
// failed, or a non-empty "error" or "errors"; or text that starts with
// "error" or "exception". The ESPF removes such an event from its queue
// all the same: the work it names was not done.
func FailureBody(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return false
	}
	if b[0] == '{' {
		// the send loop asks this of every 200 with a body: decode only
		// a body that names one of the keys below
		if !bytes.Contains(b, []byte(`"success"`)) && !bytes.Contains(b, []byte(`"ok"`)) &&
			!bytes.Contains(b, []byte(`"status"`)) && !bytes.Contains(b, []byte(`"error`)) {
			return false
		}
		var obj map[string]any
		if json.Unmarshal(b, &obj) != nil {
			return false
		}
		for _, k := range []string{"success", "ok"} {
			if v, ok := obj[k].(bool); ok && !v {
				return true
			}
		}
		if v, ok := obj["status"].(string); ok {
			switch strings.ToLower(v) {
			case "error", "fail", "failed", "failure":
				return true
			}
		}
		for _, k := range []string{"error", "errors"} {
			switch v := obj[k].(type) {
			case nil:
			case string:
				if v != "" {
					return true
				}
			case bool:
				if v {
					return true
				}
			case []any:
				if len(v) > 0 {
					return true
				}
			default:
				return true
			}
		}
		return false
	}
	low := strings.ToLower(string(b[:min(len(b), 16)]))
	return strings.HasPrefix(low, "error") || strings.HasPrefix(low, "exception")
}

// NewReply keeps status, the headers and head, the start of the body (at
// most ReplyBodyLimit bytes; truncated says there was more).
func NewReply(status int, h http.Header, head []byte, truncated bool) *Reply {
	return &Reply{Status: status, Headers: h.Clone(), Body: strings.ToValidUTF8(string(head), "\uFFFD"), Truncated: truncated}
}

// FirstLine is the body's first non-empty line, trimmed and cut to 160
// characters: what groups answers in a report ("" for an empty body, and
// for no reply at all).
func (r *Reply) FirstLine() string {
	if r == nil {
		return ""
	}
	for _, line := range strings.Split(r.Body, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			if utf8.RuneCountInString(line) > 160 {
				line = string([]rune(line)[:160]) + "…"
			}
			return line
		}
	}
	return ""
}

// ScrubbedText replaces what Scrub removes.
const ScrubbedText = "[redacted]"

// Scrub removes from the kept answer every credential the request carried,
// should the Application echo it (a debug page that prints the request's
// headers): the value of every header but the standard ones, the part of
// it after the scheme name, and a Basic header's decoded user:password and
// password. A secret never reaches a results file or a report this way.
func (r *Reply) Scrub(req http.Header) {
	if r == nil {
		return
	}
	var secrets []string
	add := func(s string) {
		if len(strings.TrimSpace(s)) >= 4 {
			secrets = append(secrets, s)
		}
	}
	for name, values := range req {
		switch http.CanonicalHeaderKey(name) {
		case "Date", "Content-Type", "Content-Length", "Te", "User-Agent", "Host", "Accept-Encoding":
			continue
		}
		for _, v := range values {
			add(v)
			if scheme, rest, ok := strings.Cut(v, " "); ok {
				add(rest)
				if strings.EqualFold(scheme, "Basic") {
					if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest)); err == nil {
						add(string(dec))
						if _, pw, ok := strings.Cut(string(dec), ":"); ok {
							add(pw)
						}
					}
				}
			}
		}
	}
	// longest first, so that a secret inside another is not half replaced
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, s := range secrets {
		r.Body = strings.ReplaceAll(r.Body, s, ScrubbedText)
		for k, vs := range r.Headers {
			for i := range vs {
				r.Headers[k][i] = strings.ReplaceAll(vs[i], s, ScrubbedText)
			}
		}
	}
}
