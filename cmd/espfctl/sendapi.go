package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/spf13/pflag"
)

const (
	envAPIToken    = "ESPFCTL_API_TOKEN"
	envAPIPassword = "ESPFCTL_API_PASSWORD"
)

// apiFlags are the PortaBilling mock beside a send: its listener, its
// credentials and its TLS.
type apiFlags struct {
	Listen       string
	Token        string
	Wait         time.Duration
	Login        string
	Password     string
	PasswordFile string
	SelfSigned   bool
	CAOut        string
	TLSCert      string
	TLSKey       string
}

func (a *apiFlags) register(f *pflag.FlagSet) {
	f.StringVar(&a.Listen, "api-listen", "", "serve the PortaBilling mock on this address, e.g. 127.0.0.1:8181: the ESPF API (status callbacks) and the PortaBilling API the Application reads entities back from")
	f.StringVar(&a.Token, "api-token", "", "the API mock accepts \"Authorization: Bearer TOKEN\" and Session/login with this token (secret; or $"+envAPIToken+")")
	f.DurationVar(&a.Wait, "api-wait", 0, "keep the API mock up this long after sending, for late status calls")
	f.StringVar(&a.Login, "api-login", "", "the login Session/login accepts")
	f.StringVar(&a.Password, "api-password", "", "--api-login's password (secret; or --api-password-file, $"+envAPIPassword+")")
	f.StringVar(&a.PasswordFile, "api-password-file", "", "read --api-password from this file")
	f.BoolVar(&a.SelfSigned, "api-tls-self-signed", false, "serve the API mock over HTTPS with a certificate signed by a CA made for the run (see --api-ca-out)")
	f.StringVar(&a.CAOut, "api-ca-out", "", "with --api-tls-self-signed: write the CA's certificate (PEM) here, for the Application to trust")
	f.StringVar(&a.TLSCert, "api-tls-cert", "", "serve the API mock over HTTPS with this certificate (PEM)")
	f.StringVar(&a.TLSKey, "api-tls-key", "", "--api-tls-cert's private key (PEM)")
}

// config checks the flags (before anything runs) and returns the mock's
// config and where it listens.
func (a *apiFlags) config() (espfapi.Config, espfapi.ServerConfig, error) {
	var cfg espfapi.Config
	sc := espfapi.ServerConfig{Listen: a.Listen, SelfSigned: a.SelfSigned, CAOut: a.CAOut, CertFile: a.TLSCert, KeyFile: a.TLSKey}
	if a.Listen == "" {
		for flag, set := range map[string]bool{"--api-login": a.Login != "", "--api-password": a.Password != "" || a.PasswordFile != "",
			"--api-tls-self-signed": a.SelfSigned, "--api-ca-out": a.CAOut != "", "--api-tls-cert": a.TLSCert != "", "--api-tls-key": a.TLSKey != ""} {
			if set {
				return cfg, sc, usageErrorf("%s configures the API mock: give --api-listen too", flag)
			}
		}
		return cfg, sc, nil
	}
	if err := sc.Check(); err != nil {
		return cfg, sc, usageErrorf("--api-tls-self-signed, --api-ca-out, --api-tls-cert, --api-tls-key: %w", err)
	}
	token := a.Token
	if token == "" {
		token = os.Getenv(envAPIToken)
	}
	var files []string
	if a.PasswordFile != "" {
		files = []string{a.PasswordFile}
	}
	var values []string
	if a.Password != "" {
		values = []string{a.Password}
	}
	pw, err := secrets(values, files, "--api-password-file", envAPIPassword)
	if err != nil {
		return cfg, sc, err
	}
	if len(pw) > 1 {
		return cfg, sc, usageErrorf("give --api-password or --api-password-file, not both")
	}
	cfg.Token, cfg.Login = token, a.Login
	if len(pw) == 1 {
		cfg.Password = pw[0]
	}
	if (cfg.Login == "") != (cfg.Password == "") {
		return cfg, sc, usageErrorf("--api-login and --api-password go together (Session/login takes both)")
	}
	return cfg, sc, nil
}

// sendAPI is the PortaBilling mock beside a send: sink follows deliveries,
// emit is the sender's emission hook, finish waits --api-wait, stops it and
// returns what it saw.
type sendAPI struct {
	mock *espfapi.Mock
	srv  *espfapi.Server
	sink sim.Sink
}

// startAPI serves the mock when --api-listen is set (nil when not).
func (o *sendOptions) startAPI() (*sendAPI, error) {
	if o.API.Listen == "" {
		return nil, nil
	}
	cfg, sc, err := o.API.config()
	if err != nil {
		return nil, err
	}
	mock := espfapi.New(cfg)
	srv, err := espfapi.Listen(mock, sc)
	if err != nil {
		return nil, fmt.Errorf("--api-listen %s: %w", o.API.Listen, err)
	}
	fmt.Fprintf(o.IO.Err, "espfctl: PortaBilling API mock listening on %s (POST /rest/Session/login, /rest/Account/get_account_info…, /espf/v1/account/…/status)\n", srv.URL)
	if sc.CAOut != "" {
		fmt.Fprintf(o.IO.Err, "espfctl: the API mock's CA certificate is in %s: make the Application trust it\n", sc.CAOut)
	}
	if cfg.Token == "" && cfg.Login == "" {
		fmt.Fprintln(o.IO.Err, "espfctl: warning: the API mock accepts any login and any call (set --api-login and --api-password, or --api-token)")
	}
	sink := sim.RecordFunc(func(r *sim.Record) {
		if r.Outcome == espf.Delivered && !r.Duplicate {
			mock.Delivered(r.Entity, r.Answered)
		}
	})
	return &sendAPI{mock: mock, srv: srv, sink: sink}, nil
}

// finish waits --api-wait for late status calls, stops the mock, and
// returns the statuses, the rejected calls, the calls per method and the
// entities it held.
func (a *sendAPI) finish(ctx context.Context, wait time.Duration, errOut func(error)) ([]espfapi.AccountStatus, int64, []espfapi.MethodCalls, int) {
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := a.srv.Close(sctx); err != nil {
		errOut(err)
	}
	accts, rejected := a.mock.Accounts()
	return accts, rejected, a.mock.Calls(), a.mock.Entities()
}
