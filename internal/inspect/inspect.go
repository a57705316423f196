// Package inspect is serve's inspector: a page at /ui/ on the admin
// listener that lists every delivery as it arrives (server-sent events from
// the journal's feed), shows one in detail (headers and body as received,
// credentials redacted, every attempt of its i_event, reproducers), and
// replays one to the --forward-to Application. Its assets are embedded: it
// works offline. It reads the receiver's journal (internal/journal),
// replays through internal/verify, and is imported by serve only.
package inspect

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

//go:embed assets
var assets embed.FS

// Path is where the inspector is mounted.
const Path = "/ui/"

// Stream bounds: a live list holds at most maxStreams connections (the
// admin listener has 64), each buffering streamBuffer commits while its
// browser is slow; past that it is dropped and the browser reconnects.
const (
	maxStreams      = 16
	streamBuffer    = 256
	streamRows      = journal.DefaultLimit // rows sent per tick at most; the rest are counted as skipped
	streamWrite     = 10 * time.Second     // a browser that takes longer over one message is cut off
	streamHeartbeat = 15 * time.Second
	streamFlood     = time.Second // rows are sent once a second while they come faster than a page a tick
	defaultTick     = 200 * time.Millisecond
)

// Config configures the inspector.
type Config struct {
	Receiver *verify.Receiver
	// Creds are serve's --auth credentials: "copy as curl" writes their
	// secrets as $ESPFCTL_* references only. The zero value without auth.
	Creds sign.Config
	// URL is serve's delivery URL (where PortaBilling posts), shown on the
	// page and the target of "copy as curl" without --forward-to.
	URL string
	// Journal names the journal on the page ("" = in memory).
	Journal string
	// Tick is how often the live list is sent new rows; 0 = 200 ms.
	Tick time.Duration
}

// UI is the inspector's handler, mounted at Path.
type UI struct {
	cfg     Config
	rc      *verify.Receiver
	j       *journal.Journal
	token   string
	mux     *http.ServeMux
	tmpl    *template.Template
	streams atomic.Int32
	dropped atomic.Int64
	buffer  int // commits a stream buffers (streamBuffer)
	static  http.Handler
}

// New builds the inspector.
func New(cfg Config) (*UI, error) {
	if cfg.Receiver == nil {
		return nil, errors.New("inspect: no receiver")
	}
	if cfg.Tick <= 0 {
		cfg.Tick = defaultTick
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("inspect: session token: %w", err)
	}
	tmpl, err := template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, fmt.Errorf("inspect: templates: %w", err)
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, err
	}
	ui := &UI{cfg: cfg, rc: cfg.Receiver, j: cfg.Receiver.Journal(), token: hex.EncodeToString(b), tmpl: tmpl, buffer: streamBuffer,
		static: http.StripPrefix(Path+"static/", http.FileServerFS(static))}
	m := http.NewServeMux()
	m.HandleFunc("GET "+Path+"{$}", ui.list)
	m.HandleFunc("GET "+Path+"rows", ui.rows)
	m.HandleFunc("GET "+Path+"stream", ui.stream)
	m.HandleFunc("GET "+Path+"d/{kind}/{id}", ui.detail)
	m.HandleFunc("GET "+Path+"d/{kind}/{id}/body", ui.body)
	m.HandleFunc("POST "+Path+"replay", ui.replay)
	m.HandleFunc("GET "+Path+"static/", ui.serveStatic)
	ui.mux = m
	return ui, nil
}

// Token is the session's replay token (for tests and tools on this host).
func (ui *UI) Token() string { return ui.token }

// ServeHTTP serves the inspector, to a loopback Host only.
func (ui *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin") // no-referrer would make a form post say Origin: null
	h.Set("X-Frame-Options", "DENY")
	Guard(ui.mux).ServeHTTP(w, r)
}

func (ui *UI) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	ui.static.ServeHTTP(w, r)
}

// Mount is the admin listener's handler: the inspector at Path (and /
// leads there) beside admin (the receiver's /events, /rejections,
// /metrics, /healthz), every request to a loopback Host only (Guard).
func Mount(ui *UI, admin http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(Path, ui)
	mux.Handle("GET /{$}", http.RedirectHandler(Path, http.StatusFound))
	mux.Handle("/", admin)
	return Guard(mux)
}

// Guard answers 403 to a request whose Host is not a loopback name or
// address: a page on another site that rebinds its name to 127.0.0.1 (DNS
// rebinding) reaches the admin listener with its own name as Host, and is
// refused, so it cannot read the journal through the browser.
func Guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "espfctl serve's admin listener answers requests for a loopback Host only "+
				"(127.0.0.1, [::1], localhost)", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// crossSite refuses a state-changing request that did not come from the
// inspector's own page: a wrong or missing session token, or a browser
// saying it came from another origin.
func (ui *UI) crossSite(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host && o != "https://"+r.Host {
		return fmt.Errorf("request from another origin (%s)", o)
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" {
		return fmt.Errorf("cross-site request (Sec-Fetch-Site: %s)", s)
	}
	tok := r.Header.Get("X-Espfctl-Token")
	if tok == "" {
		tok = r.PostFormValue("token")
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(ui.token)) != 1 {
		return errors.New("missing or wrong session token: reload the inspector page")
	}
	return nil
}
