package espf

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/sign"
)

// UserAgent is the User-Agent of every request espfctl sends as the ESPF:
// "espfctl/VERSION", the module version the binary was built from
// ("espfctl/devel" for a build from a checkout). A -H User-Agent overrides it.
var UserAgent = "espfctl/" + version()

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "devel"
}

// NewRequest builds one ESPF delivery request message, as PortaBilling
// sends it (contract §1): POST body to url with the extra headers, then
// Content-Type: application/json, TE: trailers, Content-Length, User-Agent
// (UserAgent unless headers set one), and the credentials signed by auth at
// now (which also sets Date). A nil auth sends no credentials; Date is set
// from now either way. send, run and check all build their requests here.
func NewRequest(ctx context.Context, url string, body []byte, headers http.Header, auth sign.Signer, now time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range headers {
		req.Header[k] = append([]string(nil), vs...)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = []string{UserAgent}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("TE", "trailers")
	if auth != nil {
		if err := auth.Sign(req.Header, body, now); err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
	}
	if req.Header.Get("Date") == "" {
		req.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	}
	return req, nil
}
