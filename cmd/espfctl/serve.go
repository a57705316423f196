package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/inspect"
	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/listen"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/schema"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/verify"
	"github.com/spf13/cobra"
)

// defaultAdminListen is the admin listener's address unless --admin-listen
// says otherwise: a free loopback port, printed on stderr.
const defaultAdminListen = "127.0.0.1:0"

type serveOptions struct {
	IO            *term.IO
	Auth          authFlags
	NoAuth        bool
	Listen        string
	AdminListen   string
	Path          string
	MaxBody       int64
	MaxConns      int
	MaxRejected   int
	MaxCopies     int
	Strict        bool
	Journal       string
	Faults        verify.Faults
	JSON          bool
	ReadyFile     string
	TLSCert       string
	TLSKey        string
	TLSSelfSigned bool
	CAOut         string // with TLSSelfSigned: where the run's CA certificate goes
	Grace         time.Duration
	ForwardTo     string
	ForwardTLS    espf.TLS
	ForwardWait   time.Duration
}

func newServeCmd(ios *term.IO, runF func(context.Context, *serveOptions) error) *cobra.Command {
	opts := &serveOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "serve --auth SCHEME [credential flags] [--listen ADDR] [--journal FILE] [--forward-to URL]",
		Short: "Run a reference ESPF Application, or stand between PortaBilling and yours",
		Long: `Run a reference ESPF Application: it answers each delivery as a correct
Application does (405 not POST; 401 auth failed and 400 bad Date, from the
headers alone, before the body is read; 413 too large; 400 bad body; 400
unknown type or missing variables with --strict; else 200 after the event is
committed to the journal), idempotently by i_event.

With --forward-to URL it stands in front of your Application instead: every
delivery that passes its checks is forwarded (same method, body byte for byte,
headers as received) and your Application's answer goes back to the sender;
504 when it does not answer within --forward-timeout, 502 when it cannot be
reached. With --no-auth every request is forwarded.

One line per delivery goes to stdout (--json: JSON lines) through a bounded
queue: when stdout is not read, lines are dropped and counted, never the
answers. "listening on", the admin address and warnings go to stderr.
GET /events, /rejections, /metrics and /healthz are served on the admin
listener (--admin-listen, loopback only), never where PortaBilling connects,
with the inspector at /ui/: every delivery live in a browser, its headers and
body, and a replay to the --forward-to Application ("inspect at …" on stderr).
SIGINT or SIGTERM drains and exits 0.`,
		Example: `  espfctl serve --listen :8443 --tls-self-signed --auth signature --key-id test --key-file key.txt
  espfctl serve --listen 127.0.0.1:0 --ready-file addr --auth basic --user u --password p --journal events.db --max-copies 1000
  espfctl serve --listen :8080 --auth basic --user pb --password-file pw.txt --forward-to http://127.0.0.1:3000/espf --journal espf.db
  espfctl serve --no-auth --fail-first 2 --delay 10ms-200ms --seed 7 --json --admin-listen 127.0.0.1:9090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF == nil {
				runF = serveRun
			}
			return runF(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	opts.Auth.register(fs, withAll)
	fs.BoolVar(&opts.NoAuth, "no-auth", false, "accept deliveries without checking authorization (warns); with --forward-to, forward every request")
	fs.StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "address to listen on for deliveries; port 0 picks a free port")
	fs.StringVar(&opts.AdminListen, "admin-listen", defaultAdminListen, `loopback address for the inspector /ui/ and GET /events, /rejections, /metrics, /healthz ("off" for none); port 0 picks a free port`)
	fs.StringVar(&opts.Path, "path", "/", `the delivery path; "/" accepts any path`)
	fs.Int64Var(&opts.MaxBody, "max-body", verify.DefaultMaxBody, "largest body accepted, in bytes (else 413)")
	fs.IntVar(&opts.MaxConns, "max-conns", verify.DefaultMaxConns, "delivery connections open at once; more wait for a free slot")
	fs.IntVar(&opts.MaxRejected, "max-rejected", journal.DefaultMaxRejected, "rejected deliveries the journal keeps; older ones are dropped and counted")
	fs.IntVar(&opts.MaxCopies, "max-copies", journal.DefaultMaxCopies, "duplicate copies (repeats answered 200, with body and headers) the journal keeps; older ones are dropped and counted, in chunks of max(N/16, 64)")
	fs.BoolVar(&opts.Strict, "strict", false, "answer 400 to event types not in the catalog and to missing documented variables")
	fs.StringVar(&opts.Journal, "journal", "", "SQLite journal file (WAL); default in memory, lost on exit")
	fs.StringVar(&opts.ForwardTo, "forward-to", "", "forward each delivery that passes the checks to your Application at this URL and answer what it answers")
	fs.DurationVar(&opts.ForwardWait, "forward-timeout", verify.DefaultForwardTimeout, "how long to wait for the Application's whole answer (then 504; the ESPF's own timeout is 300s)")
	fs.StringVar(&opts.ForwardTLS.CAFile, "forward-ca-file", "", "trust this PEM CA for an https --forward-to, besides the system's")
	fs.BoolVar(&opts.ForwardTLS.InsecureSkipVerify, "forward-insecure-skip-verify", false, "do not check the certificate of an https --forward-to (warns)")
	fs.IntVar(&opts.Faults.FailFirst, "fail-first", 0, "fault: answer the first N deliveries of every i_event with --fail-status")
	fs.IntVar(&opts.Faults.FailStatus, "fail-status", 500, "fault: the status of failed deliveries")
	fs.Float64Var(&opts.Faults.FailRate, "fail-rate", 0, "fault: probability (0-1) of answering --fail-status")
	fs.Var(&opts.Faults.Delay, "delay", "fault: wait before answering, e.g. 50ms or a range 10ms-200ms")
	fs.Float64Var(&opts.Faults.HangRate, "hang-rate", 0, "fault: probability of never answering (the client gives up)")
	fs.Float64Var(&opts.Faults.ResetRate, "reset-rate", 0, "fault: probability of dropping the connection")
	fs.Int64Var(&opts.Faults.Seed, "seed", 1, "fault: random seed; the same seed and arrival order give the same faults")
	fs.BoolVar(&opts.JSON, "json", false, "write one JSON object per delivery to stdout")
	fs.StringVar(&opts.ReadyFile, "ready-file", "", "once listening, write the bound delivery address to this file (atomically)")
	fs.StringVar(&opts.TLSCert, "tls-cert", "", "serve HTTPS with this PEM certificate (with --tls-key)")
	fs.StringVar(&opts.TLSKey, "tls-key", "", "the PEM private key for --tls-cert")
	fs.BoolVar(&opts.TLSSelfSigned, "tls-self-signed", false, "serve HTTPS with an in-memory certificate for 127.0.0.1/localhost (and the --listen host), signed by a CA made for the run")
	fs.StringVar(&opts.CAOut, "ca-out", "", "with --tls-self-signed: write the run's CA certificate (PEM) here, for clients to trust (send --ca-file FILE)")
	fs.DurationVar(&opts.Grace, "grace", verify.DefaultGrace, "on SIGINT/SIGTERM, how long to wait for in-flight deliveries")
	return cmd
}

func (o *serveOptions) validate() error {
	switch {
	case o.NoAuth && o.Auth.Scheme != "":
		return usageErrorf("--no-auth and --auth %s: give one", o.Auth.Scheme)
	case !o.NoAuth && o.Auth.Scheme == "":
		return usageErrorf("--auth is required (one of basic, custom, signature, bearer); --no-auth accepts anything")
	case (o.TLSCert == "") != (o.TLSKey == ""):
		return usageErrorf("--tls-cert and --tls-key go together")
	case o.TLSSelfSigned && o.TLSCert != "":
		return usageErrorf("--tls-self-signed and --tls-cert: give one")
	case o.CAOut != "" && !o.TLSSelfSigned:
		return usageErrorf("--ca-out writes the CA of --tls-self-signed: give --tls-self-signed too (with --tls-cert, clients trust that certificate's own CA)")
	case o.MaxBody <= 0:
		return usageErrorf("--max-body %d: want a positive number of bytes", o.MaxBody)
	case o.MaxConns <= 0:
		return usageErrorf("--max-conns %d: want a positive number of connections", o.MaxConns)
	case o.MaxRejected <= 0:
		return usageErrorf("--max-rejected %d: want a positive number of rows", o.MaxRejected)
	case o.MaxCopies <= 0:
		return usageErrorf("--max-copies %d: want a positive number of rows", o.MaxCopies)
	case o.ForwardWait <= 0:
		return usageErrorf("--forward-timeout %s: want a positive duration", o.ForwardWait)
	case o.ForwardTo == "" && (o.ForwardTLS != espf.TLS{}):
		return usageErrorf("--forward-ca-file and --forward-insecure-skip-verify need --forward-to")
	}
	if o.ForwardTo != "" {
		if u, err := url.Parse(o.ForwardTo); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("--forward-to %q: want http://HOST[:PORT]/PATH or https://…", espf.RedactURL(o.ForwardTo))
		} else if u.User != nil {
			return usageErrorf("--forward-to: credentials in the URL are not used; the delivery's own header is forwarded")
		}
	}
	if err := checkLoopback(o.AdminListen); err != nil {
		return err
	}
	if err := o.Faults.Validate(); err != nil {
		return &usageError{err}
	}
	return nil
}

// checkLoopback refuses an admin address that is reachable from the
// network: /events shows every delivery's body and asks no credentials.
func checkLoopback(addr string) error {
	if addr == "off" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageErrorf("--admin-listen %q: want HOST:PORT, e.g. 127.0.0.1:9090, or off", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return usageErrorf("--admin-listen %s: not a loopback address; the admin endpoints show every delivery "+
		"and need no credentials, so they listen on 127.0.0.1 or [::1] only (reach them from elsewhere through an SSH tunnel)", addr)
}

// serveSide is one running serve: the receiver, its journal, its output
// and its listeners.
type serveSide struct {
	opts        *serveOptions
	auth        sign.Auth
	creds       sign.Config // the --auth credentials, for the inspector's reproducers
	cert        *tls.Certificate
	fingerprint string
	journal     *journal.Journal
	lines       *verify.LineWriter // stdout: one line per delivery
	mismatch    sync.Mutex         // guards mismatchAt, mismatchN (tlsOnPlain)
	mismatchAt  time.Time
	mismatchN   int
	warns       *verify.LineWriter // stderr: drop warnings, never blocking an answer
	rc          *verify.Receiver
	ln          *verify.LimitListener
	deliveries  net.Listener // ln, or TLS over it
	admin       net.Listener // nil with --admin-listen off
}

func serveRun(ctx context.Context, opts *serveOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	s := &serveSide{opts: opts}
	defer s.close()
	if err := s.setup(); err != nil {
		return err
	}
	if err := s.listen(); err != nil {
		return err
	}
	s.announce()
	if opts.IO.IsTTY && !opts.JSON { // a terminal's lines fit it, under a header (report.DeliveryFit)
		s.lines.WriteLine([]byte(report.DeliveryHeader(opts.IO.Width, opts.IO.Palette()) + "\n"))
	}
	if opts.ReadyFile != "" {
		if err := writeReady(opts.ReadyFile, s.ln.Addr().String()); err != nil {
			return err
		}
		opts.Auth.warn(opts.IO.Err, false)
	}
	if err := s.run(ctx); err != nil {
		return err
	}
	return s.finish()
}

// setup loads the credentials and the certificate, opens the journal and
// builds the receiver with its output.
func (s *serveSide) setup() error {
	o := s.opts
	if !o.NoAuth {
		var err error
		if s.auth, err = o.Auth.auth(""); err != nil {
			return err
		}
		if s.creds, err = o.Auth.config(o.Auth.Scheme); err != nil {
			return err
		}
	}
	if err := s.loadTLS(); err != nil {
		return err
	}
	fwd, err := s.forward()
	if err != nil {
		return err
	}
	s.warns = verify.NewLineWriter(o.IO.Err, 64)
	if s.journal, err = journal.Open(journal.Config{Path: o.Journal, MaxRejected: o.MaxRejected, MaxCopies: o.MaxCopies,
		OnWriteError: s.journalHealth}); err != nil {
		if errors.Is(err, journal.ErrNotJournal) {
			return usageErrorf("--journal: %w", err)
		}
		return err
	}
	s.lines = verify.NewLineWriter(o.IO.Out, 0)
	s.rc, err = verify.NewReceiver(verify.Config{Auth: s.auth, Path: o.Path, MaxBody: o.MaxBody,
		Strict: o.Strict, Faults: o.Faults, Journal: s.journal, Forward: fwd, Log: s.lines, OnDelivery: s.line})
	if err != nil {
		return &usageError{err}
	}
	return nil
}

func (s *serveSide) loadTLS() error {
	o := s.opts
	switch {
	case o.TLSCert != "":
		c, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return usageErrorf("--tls-cert/--tls-key: %w", err)
		}
		s.cert, s.fingerprint = &c, verify.Fingerprint(c.Certificate[0])
	case o.TLSSelfSigned:
		host, _, _ := net.SplitHostPort(o.Listen)
		c, caPEM, err := listen.SelfSigned(time.Now(), "espfctl serve", host)
		if err != nil {
			return err
		}
		s.cert, s.fingerprint = &c, verify.Fingerprint(c.Certificate[0])
		if o.CAOut != "" {
			if err := os.WriteFile(o.CAOut, caPEM, 0o644); err != nil {
				return fmt.Errorf("--ca-out: write the CA certificate: %w", err)
			}
		}
	}
	return nil
}

func (s *serveSide) forward() (*verify.Forward, error) {
	o := s.opts
	if o.ForwardTo == "" {
		return nil, nil
	}
	tlsCfg, err := o.ForwardTLS.Config()
	if err != nil {
		return nil, usageErrorf("--forward-ca-file: %w", err)
	}
	return &verify.Forward{URL: o.ForwardTo, Timeout: o.ForwardWait, TLS: tlsCfg}, nil
}

// line renders one delivery and hands it to the bounded writer: it never
// waits for stdout.
func (s *serveSide) line(d verify.Delivery) {
	var buf bytes.Buffer
	if s.opts.JSON {
		b, _ := json.Marshal(struct {
			SchemaVersion int `json:"schema_version"` // schema.Version (docs/json.md)
			verify.Delivery
		}{schema.Version, d})
		buf.Write(append(b, '\n'))
	} else if s.opts.IO.IsTTY {
		_ = report.DeliveryFit(&buf, d, s.opts.IO.Palette(), s.opts.IO.Width)
	} else {
		_ = report.Delivery(&buf, d, s.opts.IO.Palette())
	}
	s.lines.WriteLine(buf.Bytes())
}

func (s *serveSide) listen() error {
	o := s.opts
	tcp, err := listen.TCP("--listen", o.Listen)
	if err != nil {
		return err
	}
	s.ln = verify.NewLimitListener(tcp, o.MaxConns)
	s.rc.WatchConns(s.ln)
	s.deliveries = listen.TLSOnPlain(s.ln, s.tlsOnPlain)
	if s.cert != nil {
		s.deliveries = verify.TLSListener(s.ln, *s.cert)
	}
	if o.AdminListen != "off" {
		if s.admin, err = listen.TCP("--admin-listen", o.AdminListen); err != nil {
			return err
		}
	}
	return nil
}

// tlsOnPlain says on stderr that a client started TLS on the plain-http
// listener (its URL says https://): the first time, then at most every
// 10 s. (A plain-http client on the https listener is named by Go's own
// "client sent an HTTP request to an HTTPS server".)
func (s *serveSide) tlsOnPlain(remote string) {
	s.mismatch.Lock()
	defer s.mismatch.Unlock()
	s.mismatchN++
	if now := time.Now(); s.mismatchAt.IsZero() || now.Sub(s.mismatchAt) >= 10*time.Second {
		s.warns.WriteLine(fmt.Appendf(nil, "warning: %d TLS handshake(s) on this plain-http listener, the last from %s: the sender's URL says https://; serve with --tls-self-signed or --tls-cert, or send to http://\n", s.mismatchN, remote))
		s.mismatchAt, s.mismatchN = now, 0
	}
}

// announce writes the start-up lines to stderr.
func (s *serveSide) announce() {
	o, w := s.opts, s.opts.IO.Err
	if o.IO.ErrTTY { // a terminal's lines fit it
		w = fitWriter{w, o.IO.ErrWidth}
	}
	scheme := "http"
	if s.cert != nil {
		scheme = "https"
	}
	where := "in memory (lost on exit; --journal FILE keeps it)"
	if o.Journal != "" {
		where = o.Journal
	}
	authDesc := "none"
	if s.auth != nil {
		authDesc = s.auth.Scheme() + " in " + s.auth.Header()
	}
	fmt.Fprintf(w, "listening on %s://%s%s (auth: %s; journal: %s)\n", scheme, s.ln.Addr(), o.Path, authDesc, where)
	if s.admin != nil {
		fmt.Fprintf(w, "admin on http://%s (GET /events /rejections /metrics /healthz; loopback only)\n", s.admin.Addr())
		fmt.Fprintf(w, "inspect at http://%s%s\n", s.admin.Addr(), inspect.Path)
	}
	if o.ForwardTo != "" {
		fmt.Fprintf(w, "forwarding to %s (timeout %s; no answer in time: 504, unreachable: 502, and the ESPF re-sends)\n", o.ForwardTo, o.ForwardWait)
	}
	if s.fingerprint != "" {
		fmt.Fprintf(w, "tls certificate sha256 fingerprint: %s\n", s.fingerprint)
	}
	if o.CAOut != "" {
		fmt.Fprintf(w, "the CA certificate is in %s: clients trust it with send --ca-file %s (curl --cacert)\n", term.Escape(o.CAOut), term.Escape(o.CAOut))
	}
	switch {
	case o.NoAuth && o.ForwardTo != "":
		fmt.Fprintln(w, "warning: --no-auth: every request is forwarded without checking authorization")
	case o.NoAuth:
		fmt.Fprintln(w, "warning: --no-auth: every delivery is accepted without checking authorization")
	}
	if o.ForwardTLS.InsecureSkipVerify {
		fmt.Fprintln(w, "warning: --forward-insecure-skip-verify: the Application's certificate is not checked")
	}
}

// run serves deliveries and the admin endpoints until ctx is done, and
// warns on stderr while stdout is not being read.
func (s *serveSide) run(ctx context.Context) error {
	adminCtx, stopAdmin := context.WithCancel(ctx)
	defer stopAdmin()
	adminDone := make(chan error, 1)
	if s.admin != nil {
		h, err := s.adminHandler()
		if err != nil {
			return err
		}
		go func() { adminDone <- verify.ServeAdmin(adminCtx, s.admin, h) }()
	} else {
		adminDone <- nil
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go s.watchDrops(watchCtx)
	err := verify.Serve(ctx, s.deliveries, s.rc, s.opts.Grace)
	stopAdmin()
	if aerr := <-adminDone; err == nil && aerr != nil {
		err = fmt.Errorf("admin: %w", aerr)
	}
	return err
}

// adminHandler is the admin listener's handler: the inspector at /ui/
// (and / leads there), the receiver's /events, /rejections, /metrics and
// /healthz; every request must name a loopback Host (no DNS rebinding).
func (s *serveSide) adminHandler() (http.Handler, error) {
	ui, err := inspect.New(inspect.Config{Receiver: s.rc, Creds: s.creds, URL: s.deliveryURL(), Journal: s.opts.Journal})
	if err != nil {
		return nil, err
	}
	return inspect.Mount(ui, s.rc.Admin()), nil
}

// deliveryURL is where senders on this host reach the delivery listener.
func (s *serveSide) deliveryURL() string {
	scheme := "http"
	if s.cert != nil {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(s.ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + s.opts.Path
}

// journalHealth says on stderr, once, that the journal stopped writing,
// and once that it writes again (journal.Config.OnWriteError).
func (s *serveSide) journalHealth(err error) {
	if err != nil {
		s.warns.WriteLine(fmt.Appendf(nil, "error: the journal cannot write: %s; deliveries are answered 500 (the ESPF re-sends them) until it can; /healthz says 503\n",
			term.Escape(err.Error())))
		return
	}
	s.warns.WriteLine([]byte("the journal writes again: deliveries are answered as before\n"))
}

// dropWarnEvery is how often a warning about dropped delivery lines may go
// to stderr; drops are looked for every second.
const dropWarnEvery = 5 * time.Second

func (s *serveSide) watchDrops(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var seen int64
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n := s.lines.Dropped(); n > seen && now.Sub(last) >= dropWarnEvery {
				seen, last = n, now
				s.warns.WriteLine(fmt.Appendf(nil, "warning: stdout is not being read: %d delivery lines dropped so far; deliveries are still answered\n", n))
			}
		}
	}
}

// finish closes the journal, flushes the lines and writes the summary.
func (s *serveSide) finish() error {
	j := s.journal
	s.journal = nil
	if err := j.Close(); err != nil {
		return fmt.Errorf("close journal: %w", err)
	}
	s.lines.Close(2 * time.Second)
	st := s.rc.Stats()
	w := s.opts.IO.Err
	fmt.Fprintf(w, "stopped: %d deliveries, %d events first delivered, %d duplicates, %d auth failures\n",
		st.Deliveries, st.FirstDelivered, st.Duplicates, st.AuthFailures)
	if n := s.lines.Dropped(); n > 0 {
		fmt.Fprintf(w, "warning: %d delivery lines were dropped because stdout was not being read (the journal has every delivery)\n", n)
	}
	if n := j.Stats().RejectionsDropped; n > 0 {
		fmt.Fprintf(w, "note: %d rejected deliveries were not kept in the journal (--max-rejected %d keeps the newest)\n", n, s.opts.MaxRejected)
	}
	if n := j.Stats().CopiesDropped; n > 0 {
		fmt.Fprintf(w, "note: %d duplicate copies were not kept in the journal (--max-copies %d keeps the newest; the events' deliveries count them all)\n", n, s.opts.MaxCopies)
	}
	return nil
}

// close releases what setup and listen took, on any way out.
func (s *serveSide) close() {
	if s.admin != nil {
		s.admin.Close()
	}
	if s.deliveries != nil {
		s.deliveries.Close()
	}
	if s.journal != nil {
		s.journal.Close()
	}
	if s.lines != nil {
		s.lines.Close(time.Second)
	}
	if s.warns != nil {
		s.warns.Close(time.Second)
	}
}

// writeReady writes addr to path through a temporary file and a rename, so
// a reader never sees a partial address.
func writeReady(path, addr string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ready-*")
	if err != nil {
		return fmt.Errorf("--ready-file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(addr + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("--ready-file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--ready-file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--ready-file: %w", err)
	}
	return nil
}
