package espfapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/espfctl/espfctl/internal/listen"
)

// ServerConfig is where and how the mock listens.
type ServerConfig struct {
	Listen     string // host:port
	SelfSigned bool   // HTTPS with a certificate made for this run, signed by a CA made for this run
	CAOut      string // with SelfSigned: write that CA's certificate (PEM) here, for clients to trust
	CertFile   string // HTTPS with this certificate (PEM) …
	KeyFile    string // … and key
	Now        func() time.Time
}

// Check lists what is wrong with the TLS settings, before anything listens.
func (c ServerConfig) Check() error {
	switch {
	case c.SelfSigned && c.CertFile != "":
		return errors.New("give a self-signed certificate or a certificate file, not both")
	case (c.CertFile == "") != (c.KeyFile == ""):
		return errors.New("a certificate file needs its key file, and a key file its certificate")
	case c.CAOut != "" && !c.SelfSigned:
		return errors.New("the CA file is written only for a self-signed certificate")
	}
	return nil
}

// Server is the mock listening.
type Server struct {
	URL   string // http://host:port or https://host:port
	CAPEM []byte // with SelfSigned: the CA's certificate, for a client of this process to trust
	srv   *http.Server
	done  chan error
	once  sync.Once
	err   error
}

// Listen serves m as cfg says (with NewServer's timeouts and limits), and
// returns once it listens.
func Listen(m *Mock, cfg ServerConfig) (*Server, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var tlsCfg *tls.Config
	var caOut []byte
	switch {
	case cfg.SelfSigned:
		host, _, _ := net.SplitHostPort(cfg.Listen)
		cert, caPEM, err := SelfSigned(cfg.Now(), host)
		if err != nil {
			return nil, err
		}
		if cfg.CAOut != "" {
			if err := os.WriteFile(cfg.CAOut, caPEM, 0o644); err != nil {
				return nil, fmt.Errorf("write the CA certificate: %w", err)
			}
		}
		tlsCfg, caOut = &tls.Config{Certificates: []tls.Certificate{cert}}, caPEM
	case cfg.CertFile != "":
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load certificate %s and key %s: %w", cfg.CertFile, cfg.KeyFile, err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	ln, err := listen.TCP("api.listen", cfg.Listen)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if tlsCfg != nil {
		tlsCfg.MinVersion = tls.VersionTLS12
		ln = tls.NewListener(ln, tlsCfg)
		scheme = "https"
	}
	s := &Server{URL: scheme + "://" + ln.Addr().String(), CAPEM: caOut, done: make(chan error, 1), srv: NewServer(m)}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops accepting, lets calls in progress finish until ctx ends, and
// returns the error that stopped serving, if any. Calling it again returns
// the same.
func (s *Server) Close(ctx context.Context) error {
	s.once.Do(func() {
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	})
	return s.err
}

// SelfSigned makes a CA for this run and a certificate it signs for host
// (listen.SelfSigned); caPEM is the CA's certificate.
func SelfSigned(now time.Time, host string) (tls.Certificate, []byte, error) {
	return listen.SelfSigned(now, "espfctl API mock", host)
}
