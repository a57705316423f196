package check

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/term"
)

// script is what a failed case's reproducer replays: its requests one
// after the other, or one request several times (at once when parallel).
type script struct {
	shots    []shot
	repeat   int    // send shots[0] this many times; 0 = each shot once
	parallel bool   // the repeats go at once
	note     string // said first, as shell comments: what happened that the requests alone do not show
}

func replay(s ...shot) *script { return &script{shots: s} }

// dateCmd prints the current time as an HTTP-date (IMF-fixdate), with GNU
// and BSD date alike.
const dateCmd = `DATE="$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')"`

// render writes the reproducer: a POSIX shell snippet that sends the same
// method, URL, headers and body with curl. Dates that the ESPF sets to the
// time of sending are taken from the clock again ($DATE), so a replay is
// graded like the original; secrets are read from their ESPFCTL_*
// variables.
func (s *script) render(r *runner) string {
	var b strings.Builder
	if s.note != "" {
		for _, line := range strings.Split(s.note, "\n") {
			b.WriteString("# " + term.Escape(line) + "\n")
		}
	}
	for _, sh := range s.shots {
		if sh.date == dateNow {
			b.WriteString(dateCmd + "\n")
			break
		}
	}
	now := r.cfg.Now()
	for i, sh := range s.shots {
		var pre []string
		date := `"$DATE"`
		if sh.date == dateFixed {
			date = shq(sh.at.UTC().Format(http.TimeFormat))
		}
		if sh.date == dateNone {
			date = "''"
		}
		var auth string
		if sh.cred != nil {
			var word string
			pre, word = sh.cred.shell(date, now)
			auth = `"` + dq(r.creds.header) + `: ` + word + `"`
		}
		for _, p := range pre {
			b.WriteString(p + "\n")
		}
		cmd := r.curl(sh, date, auth)
		switch {
		case s.repeat > 1 && s.parallel:
			b.WriteString("for i in $(seq " + strconv.Itoa(s.repeat) + "); do\n  " + strings.ReplaceAll(cmd, "\n", "\n  ") + " &\ndone; wait\n")
		case s.repeat > 1:
			b.WriteString("for i in $(seq " + strconv.Itoa(s.repeat) + "); do\n  " + strings.ReplaceAll(cmd, "\n", "\n  ") + "\ndone\n")
		default:
			b.WriteString(cmd + "\n")
		}
		if i < len(s.shots)-1 {
			b.WriteString("echo\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// curl is one request as a curl command reading its body from a pipe.
func (r *runner) curl(s shot, date, auth string) string {
	var b strings.Builder
	switch {
	case s.pause > 0:
		b.WriteString("{ sleep " + strconv.FormatFloat(s.pause.Seconds(), 'f', -1, 64) + "; printf " + printfArgs(string(s.body)) + "; }")
	case s.pad > 0:
		tail := s.body[s.padAt+s.pad:]
		b.WriteString("{ printf " + printfArgs(string(s.body[:s.padAt])) + "; head -c " + strconv.Itoa(s.pad) +
			" /dev/zero | tr '\\0' x; printf " + printfArgs(string(tail)) + "; }")
	default:
		b.WriteString("printf " + printfArgs(string(s.body)))
	}
	b.WriteString(" | curl -sS -i")
	for _, a := range r.cfg.CurlArgs {
		b.WriteString(" " + shq(a))
	}
	b.WriteString(" " + shq(espf.RedactURL(r.cfg.URL)) + " \\\n") // a password in the URL is never printed
	var hs []string
	keys := make([]string, 0, len(r.cfg.Headers))
	for k := range r.cfg.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.EqualFold(k, r.creds.header) || strings.EqualFold(k, "Date") {
			continue // the request's own value wins, as in espf.NewRequest
		}
		for _, v := range r.cfg.Headers[k] {
			hs = append(hs, shq(k+": "+v))
		}
	}
	if s.date != dateNone {
		if date == `"$DATE"` {
			hs = append(hs, `"Date: $DATE"`)
		} else {
			hs = append(hs, shq("Date: "+s.at.UTC().Format(http.TimeFormat)))
		}
	}
	hs = append(hs, shq("Content-Type: application/json"), shq("TE: trailers"))
	if len(s.body) > 1024 || s.pause > 0 {
		hs = append(hs, shq("Expect:")) // curl would wait for 100-continue; the ESPF does not ask
	}
	if s.pause > 0 {
		// -T - streams the body as the pipe gives it (--data-binary @-
		// would read it all first); with the length set, not chunked.
		hs = append(hs, shq("Content-Length: "+strconv.Itoa(len(s.body))))
	}
	if auth != "" {
		hs = append(hs, auth)
	}
	for _, h := range hs {
		b.WriteString("  -H " + h + " \\\n")
	}
	if s.pause > 0 {
		b.WriteString("  -X POST -T -")
		return b.String()
	}
	b.WriteString("  --data-binary @-")
	return b.String()
}

// shq quotes s as one single-quoted shell word. A word with what a
// terminal would act on (control characters, bidirectional overrides,
// bytes that are not UTF-8: term.NeedsEscape) is printed as printf's octal
// escapes instead, "$(printf '%b' 'a\0033b')", so the reproducer shows
// them and the shell still passes the same bytes on (a trailing newline
// aside, which no header value or URL has).
func shq(s string) string {
	if term.NeedsEscape(s) {
		return `"$(printf '%b' ` + octalWord(s) + `)"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printfArgs are the format and argument with which printf writes s byte
// for byte: '%s' and s quoted, or '%b' and s in octal escapes when s holds
// what a terminal would act on.
func printfArgs(s string) string {
	if term.NeedsEscape(s) {
		return "'%b' " + octalWord(s)
	}
	return "'%s' " + shq(s)
}

// octalWord is s as a single-quoted argument of printf %b: backslashes
// doubled, and every byte of a rune that term.Escape would escape written
// as \0ooo.
func octalWord(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case s[i] == '\\':
			b.WriteString(`\\`)
		case s[i] == '\'':
			b.WriteString(`'\''`)
		case (r == utf8.RuneError && size == 1) || r < 0x20 || r == 0x7f || term.IsUnsafeRune(r):
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, `\0%03o`, c)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('\'')
	return b.String()
}

// dq escapes s for the inside of a double-quoted shell word.
func dq(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`").Replace(s)
}

// Reproducer is a curl command (a POSIX shell snippet) that sends body to
// url as the ESPF would send it when the snippet runs: the extra headers,
// Content-Type and TE, a fresh Date, and the credentials of auth computed
// from that Date, every secret read from its $ESPFCTL_* variable — the
// reproducer of a failed case, for any recorded delivery (serve's
// inspector). auth without a Scheme sends no credentials. Headers that
// curl or the ESPF sets (Host, Content-Length, Content-Type, TE, Date, the
// credentials) are taken from the request, not from headers, and
// Accept-Encoding is left to curl (so that it shows the answer readable).
func Reproducer(url string, auth sign.Config, headers http.Header, body []byte, curlArgs []string) (string, error) {
	cr := &creds{header: sign.DefaultHeader}
	if auth.HeaderName != "" {
		cr.header = auth.HeaderName
	}
	var cred *credential
	if auth.Scheme != "" {
		c, err := newCreds(auth)
		if err != nil {
			return "", err
		}
		cr, cred = c, c.right
	}
	extra := http.Header{}
	for k, vs := range headers {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "Content-Length", "Content-Type", "Te", "Transfer-Encoding", "Connection", "Expect", "Accept-Encoding",
			"Authorization", "Proxy-Authorization", "Cookie", "X-Espfctl-Omitted":
			continue
		}
		extra[http.CanonicalHeaderKey(k)] = vs
	}
	r := &runner{cfg: Config{URL: url, Headers: extra, CurlArgs: curlArgs, Now: time.Now}, creds: cr}
	return replay(shot{body: body, date: dateNow, cred: cred}).render(r), nil
}
