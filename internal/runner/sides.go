package runner

import (
	"context"
	"io"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/verify"
)

// sides are what runs beside the sender: the built-in receiver (when the
// scenario has no target) and the ESPF API mock (when it has an api).
type sides struct {
	url    string // the built-in receiver's, or "" with a target
	apiURL string
	recv   *builtin
	api    *apiMock
	rep    *reporter

	// Who was delivered, as the sender saw it, to check against the
	// built-in receiver's journal. Only the sink goroutine writes it.
	delivered idSet
}

func startSides(ctx context.Context, s *scenario.Scenario, log io.Writer) (*sides, error) {
	sd := &sides{}
	if s.API != nil {
		api, err := startAPI(s.API, log)
		if err != nil {
			return nil, err
		}
		sd.api, sd.apiURL = api, api.url
		if s.Target == nil && s.Receiver.Report != nil {
			sd.rep = &reporter{cfg: *s.Receiver.Report, url: api.url, token: s.API.Token, login: s.API.Login, password: s.API.Password,
				client: api.client()}
		}
	}
	if s.Target == nil {
		recv, err := startBuiltin(ctx, s, sd.rep)
		if err != nil {
			sd.stop()
			return nil, err
		}
		sd.recv, sd.url = recv, recv.url
	}
	return sd, nil
}

// onRecord follows every delivered event (the sink's goroutine).
func (sd *sides) onRecord(r *sim.Record) {
	if r.Outcome != espf.Delivered || r.Duplicate {
		return
	}
	if sd.recv != nil {
		sd.delivered.add(r.IEvent)
	}
	if sd.api != nil {
		sd.api.delivered(r.Entity, r.Answered)
	}
}

// finished is what the sides saw, once the sender is done.
type finished struct {
	receiver    *verify.Stats
	accounts    []espfapi.AccountStatus
	apiRejected int64
	apiCalls    []espfapi.MethodCalls
	apiEntities int
	measured    scenario.Measured // processed_twice, unjournaled, statuses
	rejections  []report.Rejection
}

// finish stops the built-in receiver and compares its journal with what the
// sender saw delivered, then waits for the API mock's statuses.
func (sd *sides) finish(ctx context.Context) (finished, error) {
	fin := finished{measured: scenario.Measured{}}
	var err error
	if sd.recv != nil {
		var st verify.Stats
		var twice, missing int64
		st, twice, missing, err = sd.recv.finish(ctx, &sd.delivered)
		fin.receiver = &st
		fin.rejections = sd.recv.rejections()
		fin.measured["processed_twice"] = float64(twice)
		fin.measured["unjournaled"] = float64(missing)
	}
	if sd.api != nil {
		if sd.rep != nil {
			sd.rep.wg.Wait()
		}
		var share float64
		var ok bool
		fin.accounts, fin.apiRejected, share, ok = sd.api.finish(ctx)
		fin.apiCalls, fin.apiEntities = sd.api.mock.Calls(), sd.api.mock.Entities()
		if ok {
			fin.measured["statuses"] = share
		}
	}
	return fin, err
}

func (sd *sides) stop() {
	if sd.recv != nil {
		sd.recv.stop()
	}
	if sd.api != nil {
		sd.api.stop()
	}
}
