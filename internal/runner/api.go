package runner

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/verify"
)

// apiMock is the ESPF API mock on loopback, for provisioning-status callbacks.
type apiMock struct {
	mock *espfapi.Mock
	url  string
	srv  *espfapi.Server
	tls  *tls.Config // what trusts the mock's own CA, for the built-in receiver's status reports
	wait time.Duration

	mu       sync.Mutex
	accounts map[string]bool // delivered entities that are accounts ("i_account=N")
	stopped  sync.Once
}

// client is an HTTP client of the mock that trusts its own CA.
func (a *apiMock) client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = a.tls
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

// stop shuts the mock down; it is safe to call more than once.
func (a *apiMock) stop() {
	a.stopped.Do(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = a.srv.Close(sctx)
	})
}

// startAPI serves the mock, and says on log where it listens.
func startAPI(cfg *scenario.API, log io.Writer) (*apiMock, error) {
	sc := espfapi.ServerConfig{Listen: cfg.Listen, SelfSigned: cfg.SelfSigned, CAOut: cfg.CAOut, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}
	if err := sc.Check(); err != nil {
		return nil, &InputError{"api.tls", err}
	}
	mcfg := espfapi.Config{Token: cfg.Token, Login: cfg.Login, Password: cfg.Password}
	if err := espfapi.CheckListen(cfg.Listen, mcfg); err != nil {
		return nil, &InputError{"api.listen", err}
	}
	mock := espfapi.New(mcfg)
	srv, err := espfapi.Listen(mock, sc)
	if err != nil {
		return nil, err // names api.listen and the address (listen.TCP)
	}
	if log != nil {
		fmt.Fprintf(log, "espfctl: PortaBilling API mock listening on %s (POST /rest/Session/login, /rest/Account/get_account_info…, /espf/v1/account/…/status)\n", srv.URL)
		if cfg.CAOut != "" {
			fmt.Fprintf(log, "espfctl: the API mock's CA certificate is in %s: make the Application trust it\n", cfg.CAOut)
		}
	}
	a := &apiMock{mock: mock, url: srv.URL, srv: srv, wait: cfg.Wait, accounts: map[string]bool{}}
	if len(srv.CAPEM) > 0 {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(srv.CAPEM)
		a.tls = &tls.Config{RootCAs: pool}
	}
	return a, nil
}

// delivered records a first delivery, for the time-to-status figure and
// the statuses metric.
func (a *apiMock) delivered(entity string, at time.Time) {
	a.mock.Delivered(entity, at)
	if strings.HasPrefix(entity, "i_account=") {
		a.mu.Lock()
		a.accounts[entity] = true
		a.mu.Unlock()
	}
}

// finish waits (up to the configured wait) until every delivered account
// has a status, stops the mock, and returns the statuses and the share of
// delivered accounts that have one.
func (a *apiMock) finish(ctx context.Context) ([]espfapi.AccountStatus, int64, float64, bool) {
	defer a.stop()
	deadline := time.NewTimer(a.wait)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		accts, rejected := a.mock.Accounts()
		share, measured := a.share(accts)
		if share >= 1 {
			return accts, rejected, share, measured
		}
		select {
		case <-tick.C:
			continue
		case <-deadline.C:
		case <-ctx.Done():
		}
		return accts, rejected, share, measured
	}
}

func (a *apiMock) share(accts []espfapi.AccountStatus) (float64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.accounts) == 0 {
		return 0, false
	}
	n := 0
	for _, s := range accts {
		if a.accounts[s.Account] {
			n++
		}
	}
	return float64(n) / float64(len(a.accounts)), true
}

// reporter makes the built-in receiver an asynchronous Application: after
// an event's first delivery it POSTs the account's status to the mock, over
// real HTTP, the way a user's Application would.
type reporter struct {
	cfg             scenario.StatusReport
	url             string
	token           string
	login, password string // without a token: Session/login first, as a client library does
	client          *http.Client
	wg              sync.WaitGroup

	mu     sync.Mutex
	access string
}

// bearer is the token to report with: the static one, or an access token
// from Session/login (logged in once).
func (r *reporter) bearer() string {
	if r.token != "" || r.login == "" {
		return r.token
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.access != "" {
		return r.access
	}
	body, _ := json.Marshal(map[string]any{"params": map[string]string{"login": r.login, "password": r.password}})
	resp, err := r.client.Post(r.url+"/rest/Session/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var ans struct {
		AccessToken string `json:"access_token"`
	}
	if json.NewDecoder(resp.Body).Decode(&ans) == nil {
		r.access = ans.AccessToken
	}
	return r.access
}

func (r *reporter) onDelivery(d verify.Delivery) {
	if d.Status != http.StatusOK || d.Duplicate || !strings.HasPrefix(d.Entity, "i_account=") {
		return
	}
	id := strings.TrimPrefix(d.Entity, "i_account=")
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if r.cfg.Delay > 0 {
			time.Sleep(r.cfg.Delay) // the Application's provisioning time
		}
		body, _ := json.Marshal(map[string]string{"status": r.cfg.Status, "group": r.cfg.Group,
			"message": "provisioned by espfctl's built-in receiver"})
		req, err := http.NewRequest(http.MethodPost, r.url+"/espf/v1/account/i/"+id+"/status", bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		if tok := r.bearer(); tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if resp, err := r.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
}
