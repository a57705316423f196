package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/verify"
	"github.com/spf13/cobra"
)

type serveOptions struct {
	IO            *term.IO
	Auth          authFlags
	NoAuth        bool
	Listen        string
	Path          string
	MaxBody       int64
	Strict        bool
	Journal       string
	Faults        verify.Faults
	JSON          bool
	ReadyFile     string
	TLSCert       string
	TLSKey        string
	TLSSelfSigned bool
	Grace         time.Duration
}

func newServeCmd(ios *term.IO, runF func(context.Context, *serveOptions) error) *cobra.Command {
	opts := &serveOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "serve --auth SCHEME [credential flags] [--listen ADDR] [--journal FILE]",
		Short: "Run a reference ESPF Application that checks, journals and answers deliveries",
		Long: `Run a reference ESPF Application: it answers each delivery as a correct
Application does (405 not POST, 413 too large, 401 auth failed, 400 bad Date or
body, 400 unknown type or missing variables with --strict, else 200 after the
event is committed to the journal), idempotently by i_event.

One line per delivery goes to stdout (--json: JSON lines); "listening on"
and warnings go to stderr. GET /healthz, /metrics (Prometheus) and /events
(the journal as JSON lines). SIGINT or SIGTERM drains and exits 0.`,
		Example: `  espfctl serve --listen :8443 --tls-self-signed --auth signature --key-id test --key-file key.txt
  espfctl serve --listen 127.0.0.1:0 --ready-file addr --auth basic --user u --password p --journal events.db
  espfctl serve --no-auth --fail-first 2 --delay 10ms-200ms --seed 7 --json`,
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
	fs.BoolVar(&opts.NoAuth, "no-auth", false, "accept deliveries without checking authorization (warns)")
	fs.StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "address to listen on; port 0 picks a free port")
	fs.StringVar(&opts.Path, "path", "/", `the delivery path; "/" accepts any path but /healthz, /metrics, /events`)
	fs.Int64Var(&opts.MaxBody, "max-body", verify.DefaultMaxBody, "largest body accepted, in bytes (else 413)")
	fs.BoolVar(&opts.Strict, "strict", false, "answer 400 to event types not in the catalog and to missing documented variables")
	fs.StringVar(&opts.Journal, "journal", "", "SQLite journal file (WAL); default in memory, lost on exit")
	fs.IntVar(&opts.Faults.FailFirst, "fail-first", 0, "fault: answer the first N deliveries of every i_event with --fail-status")
	fs.IntVar(&opts.Faults.FailStatus, "fail-status", 500, "fault: the status of failed deliveries")
	fs.Float64Var(&opts.Faults.FailRate, "fail-rate", 0, "fault: probability (0-1) of answering --fail-status")
	fs.Var(&opts.Faults.Delay, "delay", "fault: wait before answering, e.g. 50ms or a range 10ms-200ms")
	fs.Float64Var(&opts.Faults.HangRate, "hang-rate", 0, "fault: probability of never answering (the client gives up)")
	fs.Float64Var(&opts.Faults.ResetRate, "reset-rate", 0, "fault: probability of dropping the connection")
	fs.Int64Var(&opts.Faults.Seed, "seed", 1, "fault: random seed; the same seed and arrival order give the same faults")
	fs.BoolVar(&opts.JSON, "json", false, "write one JSON object per delivery to stdout")
	fs.StringVar(&opts.ReadyFile, "ready-file", "", "once listening, write the bound address to this file (atomically)")
	fs.StringVar(&opts.TLSCert, "tls-cert", "", "serve HTTPS with this PEM certificate (with --tls-key)")
	fs.StringVar(&opts.TLSKey, "tls-key", "", "the PEM private key for --tls-cert")
	fs.BoolVar(&opts.TLSSelfSigned, "tls-self-signed", false, "serve HTTPS with an in-memory self-signed certificate for 127.0.0.1/localhost")
	fs.DurationVar(&opts.Grace, "grace", verify.DefaultGrace, "on SIGINT/SIGTERM, how long to wait for in-flight deliveries")
	return cmd
}

func (o *serveOptions) validate() error {
	if o.NoAuth && o.Auth.Scheme != "" {
		return usageErrorf("--no-auth and --auth %s: give one", o.Auth.Scheme)
	}
	if !o.NoAuth && o.Auth.Scheme == "" {
		return usageErrorf("--auth is required (one of basic, custom, signature, bearer); --no-auth accepts anything")
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return usageErrorf("--tls-cert and --tls-key go together")
	}
	if o.TLSSelfSigned && o.TLSCert != "" {
		return usageErrorf("--tls-self-signed and --tls-cert: give one")
	}
	if err := o.Faults.Validate(); err != nil {
		return &usageError{err}
	}
	return nil
}

func serveRun(ctx context.Context, opts *serveOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	var au sign.Auth
	if !opts.NoAuth {
		var err error
		if au, err = opts.Auth.auth(""); err != nil {
			return err
		}
		opts.Auth.warn(opts.IO.Err, false)
	}
	var cert *tls.Certificate
	fingerprint := ""
	switch {
	case opts.TLSCert != "":
		c, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return usageErrorf("--tls-cert/--tls-key: %w", err)
		}
		cert, fingerprint = &c, verify.Fingerprint(c.Certificate[0])
	case opts.TLSSelfSigned:
		c, fp, err := verify.SelfSigned(time.Now())
		if err != nil {
			return err
		}
		cert, fingerprint = &c, fp
	}
	j, err := verify.OpenJournal(opts.Journal)
	if err != nil {
		return err
	}
	defer j.Close()
	var mu sync.Mutex // deliveries are written from many handler goroutines
	enc := json.NewEncoder(opts.IO.Out)
	rc, err := verify.NewReceiver(verify.Config{Auth: au, Path: opts.Path, MaxBody: opts.MaxBody,
		Strict: opts.Strict, Faults: opts.Faults, Journal: j,
		OnDelivery: func(d verify.Delivery) {
			mu.Lock()
			defer mu.Unlock()
			if opts.JSON {
				_ = enc.Encode(d)
				return
			}
			_ = report.Delivery(opts.IO.Out, d, opts.IO.Paint, opts.IO.Style())
		}})
	if err != nil {
		return &usageError{err}
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.Listen, err)
	}
	scheme := "http"
	if cert != nil {
		ln, scheme = verify.TLSListener(ln, *cert), "https"
	}
	addr := ln.Addr().String()
	journal := "in memory (lost on exit; --journal FILE keeps it)"
	if opts.Journal != "" {
		journal = opts.Journal
	}
	authDesc := "none"
	if au != nil {
		authDesc = au.Scheme() + " in " + au.Header()
	}
	fmt.Fprintf(opts.IO.Err, "listening on %s://%s%s (auth: %s; journal: %s)\n", scheme, addr, opts.Path, authDesc, journal)
	if fingerprint != "" {
		fmt.Fprintf(opts.IO.Err, "tls certificate sha256 fingerprint: %s\n", fingerprint)
	}
	if opts.NoAuth {
		fmt.Fprintln(opts.IO.Err, "warning: --no-auth: every delivery is accepted without checking authorization")
	}
	if opts.ReadyFile != "" {
		if err := writeReady(opts.ReadyFile, addr); err != nil {
			ln.Close()
			return err
		}
	}
	if err := verify.Serve(ctx, ln, rc, opts.Grace); err != nil {
		return err
	}
	if err := j.Close(); err != nil {
		return fmt.Errorf("close journal: %w", err)
	}
	s := rc.Stats()
	fmt.Fprintf(opts.IO.Err, "stopped: %d deliveries, %d events first delivered, %d duplicates, %d auth failures\n",
		s.Deliveries, s.FirstDelivered, s.Duplicates, s.AuthFailures)
	return nil
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
