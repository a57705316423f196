package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/restart"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/spf13/pflag"
)

// targetFlags name the Application and how to reach it: --url, -H, the
// client TLS flags and --http2. send and check share them, so they mean the
// same in both.
type targetFlags struct {
	URL      string
	Headers  headerFlags
	TLS      tlsFlags
	HTTP2    bool
	StateURL string // where the Application shows an entity's state: {group} and {id}

	RestartCmd   string // sh -c: stops the Application abruptly and starts it again
	Restarts     int    // how often; with --restart-cmd only
	restartsSet  bool
	restartsFlag bool // the command has --restarts
}

func (t *targetFlags) register(f *pflag.FlagSet) {
	inGroup(f, groupConnection, func() {
		f.StringVar(&t.URL, "url", "", "the Application's URL to POST events to (required; a password in it is never printed)")
		t.Headers.register(f)
		t.TLS.register(f)
		f.BoolVar(&t.HTTP2, "http2", false, "negotiate HTTP/2 over TLS when the Application offers it (the ESPF speaks HTTP/1.1)")
		f.StringVar(&t.StateURL, "state-url", "", "where the Application shows an entity's state, with {group} and {id}, e.g. http://localhost:8080/state/{group}/{id}: read back after the run and compared")
		_ = f.SetAnnotation("state-url", groupKey, []string{groupLifecycle})
	})
	f.StringVar(&t.RestartCmd, "restart-cmd", "", "shell command (sh -c) that stops the Application abruptly and starts it again, e.g. 'docker kill app && docker start app': run while requests are in flight, then nothing answered 200 may be lost or applied twice (needs --state-url)")
}

// registerRestarts adds --restarts (send's: check restarts once).
func (t *targetFlags) registerRestarts(f *pflag.FlagSet) {
	t.restartsFlag = true
	f.IntVar(&t.Restarts, "restarts", restart.DefaultRestarts, "--restart-cmd: how many restarts, at seeded moments of the stream, never two at once")
}

// changed notes the flags whose default cannot tell whether they were
// given.
func (t *targetFlags) changed(f *pflag.FlagSet) {
	t.restartsSet = t.restartsFlag && f.Changed("restarts")
}

// target checks --url and builds the extra headers and the TLS config;
// problems are usage errors.
func (t *targetFlags) target() (http.Header, *tls.Config, error) {
	if t.URL == "" {
		return nil, nil, usageErrorf("--url is required")
	}
	if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, usageErrorf("--url %q: want http:// or https:// and a host", espf.RedactURL(t.URL))
	}
	if t.StateURL != "" {
		if err := sim.CheckStateURL(t.StateURL); err != nil {
			return nil, nil, usageErrorf("--state-url: %w", err)
		}
	}
	switch {
	case t.RestartCmd != "" && strings.TrimSpace(t.RestartCmd) == "":
		return nil, nil, usageErrorf("--restart-cmd is empty: want a shell command that stops the Application abruptly and starts it again")
	case t.RestartCmd != "" && t.StateURL == "":
		return nil, nil, usageErrorf("--restart-cmd needs --state-url: without reading every entity back after the restarts, nothing can be judged")
	case t.RestartCmd == "" && t.restartsSet:
		return nil, nil, usageErrorf("--restarts counts the runs of --restart-cmd: give --restart-cmd too")
	case t.restartsFlag && t.Restarts < 1:
		return nil, nil, usageErrorf("--restarts %d: want at least 1", t.Restarts)
	}
	hdr, err := t.Headers.header()
	if err != nil {
		return nil, nil, err
	}
	tlsCfg, err := t.TLS.config()
	if err != nil {
		return nil, nil, err
	}
	return hdr, tlsCfg, nil
}

// warnInsecure says on stderr that the certificate is not checked.
func (t *targetFlags) warnInsecure(w io.Writer) {
	if t.TLS.InsecureSkipVerify {
		fmt.Fprintln(w, "espfctl: warning: --insecure-skip-verify: the Application's certificate is not checked")
	}
}

type headerFlags []string

func (h *headerFlags) register(f *pflag.FlagSet) {
	inGroup(f, groupConnection, func() {
		f.StringArrayVarP((*[]string)(h), "header", "H", nil, `extra header "Name: value" (repeatable)`)
	})
}

// header parses the flags; a malformed one is a usage error that does not
// quote the flag: a header value may be a credential.
func (h headerFlags) header() (http.Header, error) {
	hdr := http.Header{}
	for i, s := range h {
		k, v, ok := strings.Cut(s, ":")
		k = strings.TrimSpace(k)
		switch {
		case !ok || k == "":
			return nil, usageErrorf("-H #%d has no \"Name:\" before its value (want \"Name: value\"; not shown: it may hold a secret)", i+1)
		case !sign.ValidHeaderName(k):
			return nil, usageErrorf("-H #%d: %q is not a valid header name (want \"Name: value\")", i+1, k)
		case strings.ContainsAny(v, "\r\n"):
			return nil, usageErrorf("-H %s: the value contains a line break", k)
		}
		hdr.Add(k, strings.TrimSpace(v))
	}
	return hdr, nil
}

// tlsFlags are the client TLS flags, shared by every command that connects.
type tlsFlags struct{ espf.TLS }

func (t *tlsFlags) register(f *pflag.FlagSet) {
	inGroup(f, groupConnection, func() {
		f.StringVar(&t.CAFile, "ca-file", "", "trust the Application's certificate from this PEM file")
		f.BoolVar(&t.InsecureSkipVerify, "insecure-skip-verify", false, "do not check the Application's certificate (warned)")
		f.StringVar(&t.CertFile, "cert", "", "client certificate (PEM) for mutual TLS")
		f.StringVar(&t.KeyFile, "cert-key", "", "the client certificate's private key (PEM)")
	})
}

func (t *tlsFlags) config() (*tls.Config, error) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, usageErrorf("--cert and --cert-key go together")
	}
	c, err := t.Config()
	if err != nil {
		return nil, usageErrorf("TLS flags (--ca-file, --cert, --cert-key): %w", err)
	}
	return c, nil
}
