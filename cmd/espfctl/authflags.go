package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/sign"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// authFlags are the credential flags. They are defined here once and mean
// the same in every command (sign, verify, send, serve, check). Each secret
// can also come from a file (--password-file, --credentials-file,
// --key-file) or from an environment variable (ESPFCTL_PASSWORD,
// ESPFCTL_CREDENTIALS, ESPFCTL_KEY), so it need not appear in shell history
// or ps.
type authFlags struct {
	fs               *pflag.FlagSet
	Scheme           string // --auth
	Users            []string
	Passwords        []string
	PasswordFiles    []string
	Name             string // --scheme: the custom scheme's name
	Credentials      []string
	CredentialsFiles []string
	KeyIDs           []string
	Keys             []string
	KeyFiles         []string
	IEnv             int64
	HeaderName       string
	MaxSkew          time.Duration
	Exp              int64         // --exp: bearer signing, a fixed Exp (Unix seconds); 0 = now + TTL
	TTL              time.Duration // --ttl: bearer signing, the token's lifetime from each signing

	last sign.Config // what config built last, for warn
}

// Environment variables that supply a secret when no flag or file does.
const (
	envPassword    = sign.EnvPassword
	envCredentials = sign.EnvCredentials
	envKey         = sign.EnvKey
)

// flag groups, so each command registers only the flags that make sense.
const (
	withAuth    = 1 << iota // --auth SCHEME
	withBasic               // --user --password
	withCustom              // --scheme --credentials
	withSig                 // --key-id --key
	withBearer              // --key --i-env
	withSkew                // --max-skew
	withExpiry              // --exp --ttl: a signed bearer token's expiry (sign, send)
	withAll     = withAuth | withBasic | withCustom | withSig | withBearer | withSkew
	withSecrets = withBasic | withCustom | withSig | withBearer
)

func (a *authFlags) register(fs *pflag.FlagSet, groups int) {
	inGroup(fs, groupCredentials, func() {
		a.fs = fs
		if groups&withAuth != 0 {
			fs.StringVar(&a.Scheme, "auth", "", "authorization scheme: "+strings.Join(sign.Schemes, ", "))
		}
		if groups&withBasic != 0 {
			fs.StringArrayVar(&a.Users, "user", nil, "basic: user name (repeat with --password for several pairs)")
			fs.StringArrayVar(&a.Passwords, "password", nil, "basic: password (secret; or --password-file, or $"+envPassword+")")
			fs.StringArrayVar(&a.PasswordFiles, "password-file", nil, "basic: read the password from this file")
		}
		if groups&withCustom != 0 {
			fs.StringVar(&a.Name, "scheme", "", "custom: the scheme name written before the credentials, e.g. Plain")
			fs.StringArrayVar(&a.Credentials, "credentials", nil, "custom: the credentials (secret; or --credentials-file, or $"+envCredentials+")")
			fs.StringArrayVar(&a.CredentialsFiles, "credentials-file", nil, "custom: read the credentials from this file")
		}
		if groups&withSig != 0 {
			fs.StringArrayVar(&a.KeyIDs, "key-id", nil, "signature: keyId (one for all keys, or one per --key)")
		}
		if groups&(withSig|withBearer) != 0 {
			fs.StringArrayVar(&a.Keys, "key", nil, "signature/bearer: HMAC key, repeatable for rotation: the first signs, all verify (secret; or --key-file, or $"+envKey+")")
			fs.StringArrayVar(&a.KeyFiles, "key-file", nil, "signature/bearer: read a key from this file (repeatable)")
		}
		if groups&withBearer != 0 {
			fs.Int64Var(&a.IEnv, "i-env", 0, "bearer: the token's i_env claim (checked when verifying only if given)")
		}
		if groups&withSkew != 0 {
			fs.DurationVar(&a.MaxSkew, "max-skew", sign.DefaultMaxSkew, "signature: allowed |now - Date|; bearer: expiry leeway; 0 turns it off")
		}
		if groups&withExpiry != 0 {
			fs.Int64Var(&a.Exp, "exp", 0, "bearer: the token's Exp claim, Unix seconds (default now + --ttl)")
			fs.DurationVar(&a.TTL, "ttl", sign.DefaultTTL, "bearer: the token's lifetime from the moment it is signed")
		}
		fs.StringVar(&a.HeaderName, "header-name", sign.DefaultHeader, "the header that carries the credentials")
	})
}

// config builds a sign.Config for scheme from the flags, files and
// environment. Problems are usage errors that name the flag.
func (a *authFlags) config(scheme string) (sign.Config, error) {
	cfg := sign.Config{Scheme: scheme, HeaderName: a.HeaderName, MaxSkew: a.MaxSkew,
		Users: a.Users, Name: a.Name, KeyIDs: a.KeyIDs}
	var err error
	if cfg.Passwords, err = secrets(a.Passwords, a.PasswordFiles, "--password-file", envPassword); err != nil {
		return cfg, err
	}
	if cfg.Credentials, err = secrets(a.Credentials, a.CredentialsFiles, "--credentials-file", envCredentials); err != nil {
		return cfg, err
	}
	if cfg.Keys, err = secrets(a.Keys, a.KeyFiles, "--key-file", envKey); err != nil {
		return cfg, err
	}
	if a.fs != nil && a.fs.Lookup("i-env") != nil && a.fs.Changed("i-env") {
		env := a.IEnv
		cfg.IEnv = &env
	}
	if cfg.MaxSkew < 0 {
		return cfg, usageErrorf("--max-skew %s: must not be negative", cfg.MaxSkew)
	}
	if err := a.expiry(&cfg); err != nil {
		return cfg, err
	}
	a.last = cfg
	return cfg, nil
}

// expiry applies --exp and --ttl, where the command has them.
func (a *authFlags) expiry(cfg *sign.Config) error {
	if a.fs == nil || a.fs.Lookup("ttl") == nil {
		return nil
	}
	exp, ttl := a.fs.Changed("exp"), a.fs.Changed("ttl")
	switch {
	case exp && ttl:
		return usageErrorf("--exp and --ttl exclude each other")
	case (exp || ttl) && !strings.EqualFold(cfg.Scheme, sign.SchemeBearer):
		return usageErrorf("--exp and --ttl set a bearer token's expiry: they need --auth bearer")
	case a.TTL <= 0:
		return usageErrorf("--ttl %s: must be positive", a.TTL)
	}
	cfg.TTL = a.TTL
	if exp {
		t := time.Unix(a.Exp, 0)
		cfg.Exp = &t
	}
	return nil
}

// warn prints, on w, what sign.Warnings finds in the configuration that
// config built last: custom credentials with whitespace inside and, for a
// sender, a bearer token without i_env. Nothing printed quotes a secret.
func (a *authFlags) warn(w io.Writer, sender bool) {
	for _, msg := range sign.Warnings(a.last, sender) {
		if strings.Contains(msg, "i_env claim") {
			msg += " (give --i-env)"
		}
		fmt.Fprintf(w, "espfctl: warning: %s\n", msg)
	}
}

// auth builds the configured scheme; the scheme comes from --auth unless
// the command fixes it.
func (a *authFlags) auth(scheme string) (sign.Auth, error) {
	if scheme == "" {
		scheme = a.Scheme
	}
	if scheme == "" {
		return nil, usageErrorf("--auth is required: one of %s", strings.Join(sign.Schemes, ", "))
	}
	cfg, err := a.config(scheme)
	if err != nil {
		return nil, err
	}
	au, err := sign.New(cfg)
	if err != nil {
		return nil, &usageError{flagHint(err)}
	}
	return au, nil
}

// flagHint rewrites sign's configuration errors in flag terms.
func flagHint(err error) error {
	msg := err.Error()
	for _, r := range [][2]string{
		{"no password given", "no password given: use --password, --password-file or $" + envPassword},
		{"no user given", "no user given: use --user"},
		{"no credentials given", "no credentials given: use --credentials, --credentials-file or $" + envCredentials},
		{"no scheme name given", "no scheme name given: use --scheme, e.g. --scheme Plain"},
		{"no key id given", "no key id given: use --key-id"},
		{"no key given", "no key given: use --key, --key-file or $" + envKey},
	} {
		if strings.HasSuffix(msg, r[0]) || strings.Contains(msg, r[0]+" ") {
			return fmt.Errorf("%s", strings.Replace(msg, r[0], r[1], 1))
		}
	}
	return err
}

// secrets gathers a secret from flags, then files, then the environment.
func secrets(values, files []string, fileFlag, env string) ([]string, error) {
	out := slices.Clone(values)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, usageErrorf("%s %s: %w", fileFlag, f, err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return nil, usageErrorf("%s %s: the file is empty", fileFlag, f)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		if v := os.Getenv(env); v != "" {
			out = append(out, v)
		}
	}
	return out, nil
}

// noMaxSkew is the flag error of a command that sends as the ESPF (check,
// send): --max-skew, a receiver's flag that the other credential flags
// would suggest, is refused with the reason; why adds what the command
// does instead.
func noMaxSkew(why string) func(*cobra.Command, error) error {
	return func(cmd *cobra.Command, err error) error {
		if strings.HasPrefix(err.Error(), "unknown flag: --max-skew") {
			msg := "%w: " + cmd.Name() + " is the sender and bounds no Date (the bound is the receiver's: serve --max-skew, verify --max-skew)"
			if why != "" {
				msg += "; " + why
			}
			return usageErrorf(msg, err)
		}
		return flagError(cmd, err)
	}
}
