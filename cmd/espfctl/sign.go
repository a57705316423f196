package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/espfctl/espfctl/internal/schema"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
)

type signOptions struct {
	IO     *term.IO
	Scheme string
	Auth   authFlags
	Date   string // HTTP-date to sign; "" = now
	HTTP   bool
	JSON   bool
}

// signOutput is `espfctl sign --json`. It never contains a secret.
type signOutput struct {
	SchemaVersion int               `json:"schema_version"` // schema.Version (docs/json.md)
	Scheme        string            `json:"scheme"`
	HeaderName    string            `json:"header_name"`
	Value         string            `json:"value"`
	Date          string            `json:"date"`
	SigningString *string           `json:"signing_string,omitempty"`
	TokenHeader   map[string]any    `json:"token_header,omitempty"`
	TokenClaims   map[string]any    `json:"token_claims,omitempty"`
	ClaimTimes    map[string]string `json:"claim_times_utc,omitempty"`
}

func newSignCmd(ios *term.IO, runF func(*signOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sign basic|custom|signature|bearer",
		Short: "Compute an ESPF Authorization header value",
		Long: `Compute the Authorization header value that PortaBilling's ESPF sends.

The value alone goes to stdout, so H=$(espfctl sign …) works in scripts;
--http prints ready-to-paste header lines and --json every field.
Secrets can come from files or the environment instead of flags.`,
		Example: `  espfctl sign basic --user username --password secret
  espfctl sign custom --scheme Plain --credentials passexample
  espfctl sign signature --key-id test --key-file key.txt --date "Thu, 12 Apr 2018 15:24:00 GMT"
  espfctl sign bearer --key superkey --i-env 3 --exp 1560342316
  ESPFCTL_KEY=superkey espfctl sign bearer --i-env 3 --ttl 10m --http`,
	}
	groups := map[string]struct {
		flags   int
		short   string
		example string
	}{
		sign.SchemeBasic: {withBasic, `Basic: "Basic " + base64(user:password)`,
			"  espfctl sign basic --user username --password secret\n  ESPFCTL_PASSWORD=secret espfctl sign basic --user username --http"},
		sign.SchemeCustom: {withCustom, `Custom: "<scheme> <credentials>"`,
			"  espfctl sign custom --scheme Plain --credentials passexample\n  espfctl sign custom --scheme Token --credentials-file token.txt --header-name X-Auth --http"},
		sign.SchemeSignature: {withSig, `Signature: HMAC-SHA1 of the Date value, keyId and algorithm`,
			"  espfctl sign signature --key-id test --key signature_key --date \"Thu, 12 Apr 2018 15:24:00 GMT\"\n  espfctl sign signature --key-id test --key-file key.txt --http   # signs the current time"},
		sign.SchemeBearer: {withBearer, `Bearer: an HS256 JWT with i_env and PortaBilling's Exp claim`,
			"  espfctl sign bearer --key superkey --i-env 3 --exp 1560342316\n  ESPFCTL_KEY=superkey espfctl sign bearer --i-env 3 --ttl 10m --json"},
	}
	for _, scheme := range sign.Schemes {
		g := groups[scheme]
		opts := &signOptions{IO: ios, Scheme: scheme}
		sub := &cobra.Command{
			Use:     scheme,
			Short:   g.short,
			Example: g.example,
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				if runF != nil {
					return runF(opts)
				}
				return signRun(opts)
			},
		}
		flags := g.flags
		if scheme == sign.SchemeBearer {
			flags |= withExpiry
		}
		opts.Auth.register(sub.Flags(), flags)
		sub.Flags().StringVar(&opts.Date, "date", "", `the Date to sign, an HTTP-date such as "Thu, 12 Apr 2018 15:24:00 GMT" (default now)`)
		sub.Flags().BoolVar(&opts.HTTP, "http", false, "print ready-to-paste header lines (the auth header and Date)")
		sub.Flags().BoolVar(&opts.JSON, "json", false, "print one JSON object with every field")
		sub.MarkFlagsMutuallyExclusive("http", "json")
		cmd.AddCommand(sub)
	}
	return cmd
}

func signRun(opts *signOptions) error {
	now := time.Now()
	if opts.Date != "" {
		t, err := http.ParseTime(opts.Date)
		if err != nil {
			return usageErrorf("--date %q: want an HTTP-date such as %q", opts.Date, "Thu, 12 Apr 2018 15:24:00 GMT")
		}
		now = t
	}
	cfg, err := opts.Auth.config(opts.Scheme)
	if err != nil {
		return err
	}
	if opts.Scheme == sign.SchemeBearer && cfg.IEnv == nil {
		return usageErrorf("--i-env is required: PortaBilling's token carries the i_env claim")
	}
	au, err := sign.New(cfg)
	if err != nil {
		return &usageError{flagHint(err)}
	}
	opts.Auth.warn(opts.IO.Err, false)
	h := http.Header{}
	if err := au.Sign(h, nil, now); err != nil {
		return err
	}
	value, date := h.Get(au.Header()), h.Get("Date")
	switch {
	case opts.JSON:
		out := signOutput{SchemaVersion: schema.Version, Scheme: au.Scheme(), HeaderName: au.Header(), Value: value, Date: date}
		// Explain decodes what was signed (signing string, token header and
		// claims) without exposing a secret; the skew check is moot here.
		r := au.Explain(h, nil, now)
		out.SigningString, out.TokenHeader, out.TokenClaims, out.ClaimTimes = r.SigningString, r.TokenHeader, r.TokenClaims, r.ClaimTimes
		enc := json.NewEncoder(opts.IO.Out)
		return enc.Encode(out)
	case opts.HTTP:
		_, err = fmt.Fprintf(opts.IO.Out, "%s: %s\nDate: %s\n", au.Header(), value, date)
		return err
	}
	_, err = fmt.Fprintln(opts.IO.Out, value)
	return err
}
