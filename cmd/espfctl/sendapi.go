package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/term"
)

const envAPIToken = "ESPFCTL_API_TOKEN"

// sendAPI is the ESPF API mock beside a send: sink follows deliveries,
// finish waits --api-wait, stops it and returns what it saw.
type sendAPI struct {
	sink   sim.Sink
	finish func(context.Context) ([]espfapi.AccountStatus, int64)
}

// startAPI serves the ESPF API mock when --api-listen is set (nil when not).
func (o *sendOptions) startAPI() (*sendAPI, error) {
	if o.APIListen == "" {
		return nil, nil
	}
	token := o.APIToken
	if token == "" {
		token = os.Getenv(envAPIToken)
	}
	mock := espfapi.New(espfapi.Config{Token: token})
	ln, err := net.Listen("tcp", o.APIListen)
	if err != nil {
		return nil, fmt.Errorf("--api-listen %s: %w", o.APIListen, err)
	}
	fmt.Fprintf(o.IO.Err, "espfctl: ESPF API mock listening on http://%s\n", ln.Addr())
	if token == "" {
		fmt.Fprintln(o.IO.Err, "espfctl: warning: the ESPF API mock accepts calls without credentials (set --api-token)")
	}
	srv := espfapi.NewServer(mock)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	sink := sim.RecordFunc(func(r *sim.Record) {
		if r.Outcome == espf.Delivered && !r.Duplicate {
			mock.Delivered(r.Entity, r.Answered)
		}
	})
	return &sendAPI{sink: sink, finish: func(ctx context.Context) ([]espfapi.AccountStatus, int64) {
		if o.APIWait > 0 {
			t := time.NewTimer(o.APIWait)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(o.IO.Err, "espfctl: ESPF API mock: %s\n", term.Escape(err.Error()))
		}
		return mock.Accounts()
	}}, nil
}
