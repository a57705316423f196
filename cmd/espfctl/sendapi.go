package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/espfctl/espfctl/internal/scenario"
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
	inGroup(f, groupAPI, func() {
		f.StringVar(&a.Listen, "api-listen", "", "serve the PortaBilling mock on this address, e.g. 127.0.0.1:8181: the ESPF API (status callbacks) and the PortaBilling API the Application reads entities back from")
		f.StringVar(&a.Token, "api-token", "", "the API mock accepts \"Authorization: Bearer TOKEN\" and Session/login with this token (secret; or $"+envAPIToken+")")
		f.DurationVar(&a.Wait, "api-wait", 0, "after the drain, keep the API mock up at most this long, until every delivered account has a provisioning status")
		f.StringVar(&a.Login, "api-login", "", "the login Session/login accepts")
		f.StringVar(&a.Password, "api-password", "", "--api-login's password (secret; or --api-password-file, $"+envAPIPassword+")")
		f.StringVar(&a.PasswordFile, "api-password-file", "", "read --api-password from this file")
		f.BoolVar(&a.SelfSigned, "api-tls-self-signed", false, "serve the API mock over HTTPS with a certificate signed by a CA made for the run (see --api-ca-out)")
		f.StringVar(&a.CAOut, "api-ca-out", "", "with --api-tls-self-signed: write the CA's certificate (PEM) here, for the Application to trust")
		f.StringVar(&a.TLSCert, "api-tls-cert", "", "serve the API mock over HTTPS with this certificate (PEM)")
		f.StringVar(&a.TLSKey, "api-tls-key", "", "--api-tls-cert's private key (PEM)")
	})
}

// scenario checks the flags (before anything runs) and returns the mock
// the run hosts, nil without --api-listen.
func (a *apiFlags) scenario() (*scenario.API, error) {
	if a.Listen == "" {
		for flag, set := range map[string]bool{"--api-login": a.Login != "", "--api-password": a.Password != "" || a.PasswordFile != "",
			"--api-tls-self-signed": a.SelfSigned, "--api-ca-out": a.CAOut != "", "--api-tls-cert": a.TLSCert != "", "--api-tls-key": a.TLSKey != ""} {
			if set {
				return nil, usageErrorf("%s configures the API mock: give --api-listen too", flag)
			}
		}
		return nil, nil
	}
	api := &scenario.API{Listen: a.Listen, Wait: a.Wait, Token: a.Token, Login: a.Login,
		SelfSigned: a.SelfSigned, CAOut: a.CAOut, CertFile: a.TLSCert, KeyFile: a.TLSKey}
	if api.Token == "" {
		api.Token = os.Getenv(envAPIToken)
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
		return nil, err
	}
	if len(pw) > 1 {
		return nil, usageErrorf("give --api-password or --api-password-file, not both")
	}
	if len(pw) == 1 {
		api.Password = pw[0]
	}
	if (api.Login == "") != (api.Password == "") {
		return nil, usageErrorf("--api-login and --api-password go together (Session/login takes both)")
	}
	return api, nil
}

// warnOpen says on w that the mock takes any caller, when it has no
// credentials.
func (a *apiFlags) warnOpen(w io.Writer) {
	if a.Listen != "" && a.Token == "" && os.Getenv(envAPIToken) == "" && a.Login == "" {
		fmt.Fprintln(w, "espfctl: warning: the API mock accepts any login and any call (set --api-login and --api-password, or --api-token)")
	}
}
