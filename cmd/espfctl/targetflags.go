package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/spf13/pflag"
)

// targetFlags name the Application and how to reach it: --url, -H and the
// client TLS flags. send and check share them, so they mean the same in both.
type targetFlags struct {
	URL     string
	Headers headerFlags
	TLS     tlsFlags
}

func (t *targetFlags) register(f *pflag.FlagSet) {
	f.StringVar(&t.URL, "url", "", "the Application's URL to POST events to (required)")
	t.Headers.register(f)
	t.TLS.register(f)
}

// target checks --url and builds the extra headers and the TLS config;
// problems are usage errors.
func (t *targetFlags) target() (http.Header, *tls.Config, error) {
	if t.URL == "" {
		return nil, nil, usageErrorf("--url is required")
	}
	if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, usageErrorf("--url %q: want http:// or https:// and a host", t.URL)
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
	f.StringArrayVarP((*[]string)(h), "header", "H", nil, `extra header "Name: value" (repeatable)`)
}

// header parses the flags; a malformed one is a usage error.
func (h headerFlags) header() (http.Header, error) {
	hdr := http.Header{}
	for _, s := range h {
		k, v, ok := strings.Cut(s, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageErrorf("-H %q: want \"Name: value\"", s)
		}
		hdr.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return hdr, nil
}

// tlsFlags are the client TLS flags, shared by every command that connects.
type tlsFlags struct{ espf.TLS }

func (t *tlsFlags) register(f *pflag.FlagSet) {
	f.StringVar(&t.CAFile, "ca-file", "", "trust the Application's certificate from this PEM file")
	f.BoolVar(&t.InsecureSkipVerify, "insecure-skip-verify", false, "do not check the Application's certificate (warned)")
	f.StringVar(&t.CertFile, "cert", "", "client certificate (PEM) for mutual TLS")
	f.StringVar(&t.KeyFile, "cert-key", "", "the client certificate's private key (PEM)")
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
