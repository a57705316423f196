package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/schema"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
)

type verifyOptions struct {
	IO            *term.IO
	Auth          authFlags
	Authorization string // the header value; "-" reads it from stdin
	Date          string
	Now           string // UNIX seconds or RFC3339; "" = the clock
	JSON          bool
}

func newVerifyCmd(ios *term.IO, runF func(*verifyOptions) error) *cobra.Command {
	opts := &verifyOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "verify --authorization VALUE [credential flags]",
		Short: "Check an Authorization header value and explain every failure",
		Long: `Verify an ESPF Authorization header value against the configured credentials
and explain what was checked: the scheme, key id, algorithm, signature or
credentials, the signing string, the Date's skew, the JWT header and claims.
The scheme is detected from the value. Exits 0 when valid, 1 when not.
Secrets (passwords, keys, credentials) are never printed.`,
		Example: `  espfctl verify --authorization "Basic dXNlcm5hbWU6c2VjcmV0" --user username --password secret
  espfctl verify --authorization 'Signature keyId="test",algorithm="hmac-sha1",signature="+IkiEg9UkyA+gh+pcI64itisKhs="' \
      --date "Thu, 12 Apr 2018 15:24:00 GMT" --now "2018-04-12T15:24:30Z" --key-id test --key signature_key
  espfctl verify --authorization "Bearer eyJhbGciOiJIUzI1NiJ9.eyJpX2VudiI6MywiRXhwIjoxNTYwMzQyMzE2fQ.PONYERv3xYs5g--XwbflOcaWddSuUNt7hAQqvoEcO4Q" \
      --key superkey --i-env 3 --now 1560340000 --json
  espfctl sign custom --scheme Plain --credentials passexample --http | espfctl verify --authorization - --scheme Plain --credentials passexample`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return verifyRun(opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Authorization, "authorization", "", `the header value to check ("-" reads it, or the header lines of sign --http, from stdin)`)
	fs.StringVar(&opts.Date, "date", "", "the request's Date header (the signature scheme signs it)")
	fs.StringVar(&opts.Now, "now", "", "check against this time instead of the clock: Unix seconds or RFC3339")
	fs.BoolVar(&opts.JSON, "json", false, "print the explanation as one JSON object")
	opts.Auth.register(fs, withSecrets|withSkew)
	_ = cmd.MarkFlagRequired("authorization")
	return cmd
}

// headerLines reads what `sign --http` prints ("Name: value" lines): the
// value of the auth header and of Date. Input without such lines is the
// header value itself.
func headerLines(in, header string) (value, date string) {
	found := false
	for line := range strings.Lines(in) {
		name, val, ok := strings.Cut(line, ":")
		switch name = strings.TrimSpace(name); {
		case ok && strings.EqualFold(name, header):
			value, found = strings.TrimSpace(val), true
		case ok && strings.EqualFold(name, "Date"):
			date = strings.TrimSpace(val)
		}
	}
	if !found {
		return strings.TrimSpace(in), ""
	}
	return value, date
}

// parseNow reads --now: Unix seconds or RFC3339.
func parseNow(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, usageErrorf("--now %q: want Unix seconds (1560340000) or RFC3339 (2019-06-12T11:46:40Z)", s)
}

func verifyRun(opts *verifyOptions) error {
	value, date := opts.Authorization, opts.Date
	if value == "-" {
		b, err := io.ReadAll(io.LimitReader(opts.IO.In, 64<<10))
		if err != nil {
			return fmt.Errorf("read the header value from stdin: %w", err)
		}
		var stdinDate string
		value, stdinDate = headerLines(string(b), opts.Auth.HeaderName)
		if date == "" {
			date = stdinDate
		}
	}
	value = strings.TrimSpace(strings.TrimPrefix(value, opts.Auth.HeaderName+":"))
	if value == "" {
		return usageErrorf("--authorization is empty")
	}
	now, err := parseNow(opts.Now)
	if err != nil {
		return err
	}
	scheme := sign.Detect(value)
	au, err := opts.Auth.auth(scheme)
	if err != nil {
		return fmt.Errorf("the value is a %s header: %w", scheme, err)
	}
	h := http.Header{}
	h.Set(au.Header(), value)
	if date != "" {
		h.Set("Date", date)
	}
	res := au.Explain(h, nil, now)
	if opts.JSON {
		out := struct {
			SchemaVersion int `json:"schema_version"` // schema.Version (docs/json.md)
			*sign.Result
		}{schema.Version, res}
		if err := json.NewEncoder(opts.IO.Out).Encode(out); err != nil {
			return err
		}
	} else {
		report.Explain(opts.IO.Out, res, now, opts.IO.Palette())
	}
	if !res.Valid {
		return &failedError{fmt.Errorf("%s header is not valid: %v", scheme, res.Err)}
	}
	return nil
}
