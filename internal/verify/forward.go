package verify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
)

// DefaultForwardTimeout is how long serve --forward-to waits for the
// Application's answer (body included): well under the ESPF's 300 s, so
// that the sender sees serve's 504 before its own timeout.
const DefaultForwardTimeout = 30 * time.Second

// DefaultMaxAnswer is how much of the Application's answer body is passed
// back to the sender.
const DefaultMaxAnswer = 64 << 10

// Forward hands every delivery that passed the receiver's checks to the
// Application at URL and passes its answer back (serve --forward-to).
type Forward struct {
	URL       string
	Timeout   time.Duration // 0 = DefaultForwardTimeout
	MaxAnswer int64         // 0 = DefaultMaxAnswer
	TLS       *tls.Config   // for an https URL; nil = the system's roots
	client    *http.Client
}

// hopByHop are the headers that belong to one connection (RFC 9110 §7.6.1)
// and are not forwarded; TE is kept when it is "trailers", as the ESPF
// sends it.
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect"}

func (f *Forward) init() error {
	u, err := url.Parse(f.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("forward URL %q: want http://host[:port]/path or https://…", f.URL)
	}
	if f.Timeout <= 0 {
		f.Timeout = DefaultForwardTimeout
	}
	if f.MaxAnswer <= 0 {
		f.MaxAnswer = DefaultMaxAnswer
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = f.TLS
	tr.ForceAttemptHTTP2 = false // PortaBilling's sender speaks HTTP/1.1
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = 32
	f.client = espf.NewClient(&http.Client{Transport: tr}, nil, 0)
	return nil
}

// exchange is what the Application answered to one forwarded delivery.
type exchange struct {
	status      int // 0: no answer
	body        []byte
	contentType string
	took        time.Duration
	err         error // no answer: why
	class       string
	// said is the answer kept when it was not a plain delivery (any status
	// but 200, a 200 whose body reads as a failure): the Application's own
	// words, shown in serve's lines, its journal and the inspector.
	said *espf.Reply
}

// do forwards one delivery: the same method, the body byte for byte, the
// headers as received but the hop-by-hop ones. A timeout covers the whole
// answer, body included.
func (f *Forward) do(ctx context.Context, r *http.Request, body []byte) exchange {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, f.URL, bytes.NewReader(body))
	if err != nil {
		return exchange{err: err, class: espf.ErrConnection}
	}
	req.Header = forwardHeaders(r.Header)
	resp, err := f.client.Do(req)
	var x exchange
	if err == nil && resp.StatusCode < 200 {
		x = notFinal(resp)
		x.took = time.Since(start)
		return x
	}
	if err == nil {
		x.status, x.contentType = resp.StatusCode, resp.Header.Get("Content-Type")
		x.body, err = io.ReadAll(io.LimitReader(resp.Body, f.MaxAnswer))
		if err == nil {
			// What is past the limit is read (and dropped) so the
			// connection can be reused, within the same timeout.
			_, err = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
	}
	x.took = time.Since(start)
	if err != nil {
		timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
		x.status, x.err, x.class = 0, err, espf.ErrorClass(err, timedOut)
		return x
	}
	head := x.body[:min(len(x.body), espf.ReplyBodyLimit)]
	if espf.Keep(x.status, head) {
		x.said = espf.NewReply(x.status, resp.Header, head, len(x.body) > len(head))
		x.said.Scrub(r.Header)
	}
	return x
}

// forwardHeaders copies h without the hop-by-hop headers (and those that
// Connection names). With no User-Agent in h none is sent, rather than Go's.
func forwardHeaders(h http.Header) http.Header {
	out := h.Clone()
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			out.Del(textproto.TrimString(name))
		}
	}
	te := h.Values("Te")
	for _, name := range hopByHop {
		out.Del(name)
	}
	for _, v := range te {
		if strings.EqualFold(strings.TrimSpace(v), "trailers") {
			out.Set("TE", "trailers")
		}
	}
	if _, ok := out["User-Agent"]; !ok {
		out["User-Agent"] = []string{""}
	}
	return out
}

// classNotFinal is the failure class of an Application whose final answer
// was a 1xx (101 Switching Protocols: Go's client returns no other): not
// an answer the ESPF understands, and passed on it would leave the sender
// waiting on a connection that speaks another protocol.
const classNotFinal = "not final"

// notFinal is the exchange of an Application that answered resp, a 1xx
// as its final answer or a protocol upgrade: its connection is closed
// (it no longer speaks HTTP) and serve answers 502.
func notFinal(resp *http.Response) exchange {
	resp.Body.Close()
	err := fmt.Errorf("the Application answered %d %s, not a final answer", resp.StatusCode, http.StatusText(resp.StatusCode))
	if up := resp.Header.Get("Upgrade"); up != "" {
		err = fmt.Errorf("%w (a switch to %q)", err, clipUpgrade(up))
	}
	return exchange{status: resp.StatusCode, err: err, class: classNotFinal}
}

func clipUpgrade(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// answerStatus is what serve answers the sender for an exchange: the
// Application's status, 504 when it did not answer in time, 502 when it
// could not be reached or gave no final answer.
func (x *exchange) answerStatus() int {
	switch {
	case x.err == nil:
		return x.status
	case x.class == espf.ErrTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// describe is the exchange in words, for the reason and the line.
func (x *exchange) describe(timeout time.Duration) string {
	switch {
	case x.err == nil:
		said := ""
		if line := x.said.FirstLine(); line != "" {
			said = fmt.Sprintf(": %q", line)
		}
		return fmt.Sprintf("the Application answered %d in %s%s", x.status, x.took.Round(time.Microsecond*100), said)
	case x.class == espf.ErrTimeout:
		return fmt.Sprintf("the Application did not answer within %s", timeout)
	case x.class == espf.ErrCanceled:
		return "the sender closed the connection before the Application answered"
	case x.class == classNotFinal:
		return x.err.Error()
	}
	return fmt.Sprintf("the Application is unreachable (%s): %s", x.class, unwrapNet(x.err))
}

// unwrapNet drops the url.Error wrapper (method and URL) from a client error.
func unwrapNet(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}
