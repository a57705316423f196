package sign

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Custom is "<Name> <credentials>", both configured (e.g. "Plain passexample").
type Custom struct {
	header      string
	name        string
	credentials [][]byte
}

func newCustom(cfg Config, hdr string) (*Custom, error) {
	name := strings.TrimSpace(cfg.Name)
	switch {
	case name == "":
		return nil, fmt.Errorf("custom: no scheme name given (e.g. Plain)")
	case strings.ContainsAny(name, " \t\r\n"):
		return nil, fmt.Errorf("custom: scheme name %q contains whitespace", name)
	}
	if len(cfg.Credentials) == 0 {
		return nil, fmt.Errorf("custom: no credentials given")
	}
	c := &Custom{header: hdr, name: name}
	for i, cr := range cfg.Credentials {
		if cr == "" {
			return nil, fmt.Errorf("custom: credentials #%d are empty", i+1)
		}
		if strings.ContainsAny(cr, "\r\n") {
			return nil, fmt.Errorf("custom: credentials #%d contain a line break", i+1)
		}
		if strings.TrimSpace(cr) != cr {
			// HTTP strips a header value's surrounding whitespace in transit.
			return nil, fmt.Errorf("custom: credentials #%d start or end with whitespace, which HTTP strips in transit", i+1)
		}
		c.credentials = append(c.credentials, []byte(cr))
	}
	return c, nil
}

func (c *Custom) Scheme() string { return SchemeCustom }
func (c *Custom) Header() string { return c.header }

// Name is the scheme name written before the credentials, e.g. Plain. It
// is configuration, not a secret (the credentials are).
func (c *Custom) Name() string { return c.name }

// Value is the header value the first credentials produce.
func (c *Custom) Value() string { return c.name + " " + string(c.credentials[0]) }

func (c *Custom) Sign(h http.Header, _ []byte, now time.Time) error {
	setDate(h, now)
	h.Set(c.header, c.Value())
	return nil
}

func (c *Custom) Verify(h http.Header, body []byte, now time.Time) error { return c.verify(h, nil) }

func (c *Custom) Explain(h http.Header, body []byte, now time.Time) *Result {
	r := &Result{Scheme: SchemeCustom, Header: c.header}
	return r.finish(c.verify(h, r))
}

func (c *Custom) verify(h http.Header, r *Result) error {
	v, err := authValue(h, c.header, r)
	if err != nil {
		return err
	}
	cred, err := splitScheme(v, c.name, r)
	if err != nil {
		return err
	}
	if matchAny([]byte(cred), c.credentials) < 0 {
		return r.fail("credentials", "", "", fmt.Errorf("%w: credentials do not match", ErrMismatch))
	}
	r.pass("credentials", "", "match the configured credentials, not shown")
	return nil
}
