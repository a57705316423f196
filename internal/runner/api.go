package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
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
	srv  *http.Server
	done chan error
	wait time.Duration

	mu       sync.Mutex
	accounts map[string]bool // delivered entities that are accounts ("i_account=N")
	stopped  sync.Once
}

// stop shuts the mock down; it is safe to call more than once.
func (a *apiMock) stop() {
	a.stopped.Do(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = a.srv.Shutdown(sctx)
		<-a.done
	})
}

func startAPI(cfg *scenario.API) (*apiMock, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("api.listen %s: %w", cfg.Listen, err)
	}
	a := &apiMock{mock: espfapi.New(espfapi.Config{Token: cfg.Token}), url: "http://" + ln.Addr().String(),
		done: make(chan error, 1), wait: cfg.Wait, accounts: map[string]bool{}}
	a.srv = espfapi.NewServer(a.mock)
	go func() { a.done <- a.srv.Serve(ln) }()
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
	cfg    scenario.StatusReport
	url    string
	token  string
	client *http.Client
	wg     sync.WaitGroup
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
		if r.token != "" {
			req.Header.Set("Authorization", "Bearer "+r.token)
		}
		if resp, err := r.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
}
