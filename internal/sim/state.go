package sim

import (
	"context"
	"crypto/tls"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sign"
)

// StateCheck reads every entity back from the Application after the drain
// (--state-url) and compares it with what its delivered events say.
type StateCheck struct {
	URL      string        // a template with {group} (subscriber, customer, invoice, did) and {id} (URL-escaped)
	Auth     sign.Signer   // the delivery credentials: every GET gets a fresh Date and signature
	Headers  http.Header   // the delivery's extra headers
	Client   *http.Client  // nil = espf.NewClient(nil, TLS, Parallel)
	TLS      *tls.Config   // for the built client
	Parallel int           // GETs at once; 0 = DefaultStateParallel
	Timeout  time.Duration // per GET; 0 = DefaultStateTimeout
	List     int           // mismatches listed in words; 0 = DefaultStateList
	// Each, when set, is told of every entity read back (the durability
	// verdict judges them all), one call at a time.
	Each func(entity.Expectation, espf.StateAnswer)
}

// Defaults for StateCheck's zero fields.
const (
	DefaultStateParallel = 8
	DefaultStateTimeout  = 10 * time.Second
	DefaultStateList     = 20
)

// ErrStateURL is wrapped by CheckStateURL's errors.
var ErrStateURL = espf.ErrStateURL

// CheckStateURL checks a --state-url template (espf.CheckStateURL).
func CheckStateURL(tmpl string) error { return espf.CheckStateURL(tmpl) }

// probe is one entity's answer.
type probe struct {
	i int // index in the expectations
	espf.StateAnswer
}

// Run reads back every known expectation and returns the tally. Unknown
// entities (an event pending, given up or dropped) are counted, not read.
// It returns an error only when ctx ended first.
func (c StateCheck) Run(ctx context.Context, exps []entity.Expectation) (*entity.FinalState, error) {
	if c.Parallel <= 0 {
		c.Parallel = DefaultStateParallel
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultStateTimeout
	}
	if c.List <= 0 {
		c.List = DefaultStateList
	}
	client := espf.NewClient(c.Client, c.TLS, c.Parallel)
	fs := &entity.FinalState{Mismatches: []entity.Mismatch{}}
	jobs := make(chan int)
	var (
		mu  sync.Mutex
		bad []probe
		wg  sync.WaitGroup
	)
	for range c.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				p := probe{i: i, StateAnswer: espf.ReadState(ctx, client, c.URL, exps[i].Key, c.Auth, c.Headers, c.Timeout)}
				mu.Lock()
				if c.Each != nil {
					c.Each(exps[i], p.StateAnswer)
				}
				fs.Checked++
				switch {
				case p.Unusable != "":
					fs.Errors++
					bad = append(bad, p)
				case exps[i].Matches(p.State, p.HasIEvent):
					fs.Match++
				default:
					fs.Mismatch++
					bad = append(bad, p)
				}
				mu.Unlock()
			}
		}()
	}
	var err error
feed:
	for i, e := range exps {
		if !e.Known {
			fs.Unknown++
			continue
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	slices.SortFunc(bad, func(a, b probe) int { return a.i - b.i })
	if len(bad) > c.List {
		fs.Truncated = int64(len(bad) - c.List)
		bad = bad[:c.List]
	}
	for _, p := range bad {
		e := exps[p.i]
		m := entity.Mismatch{Entity: e.Key.String(), Expected: e.Want}
		if p.Unusable != "" {
			m.Answer, m.Words = p.Unusable, p.Words()
		} else {
			got := p.State
			m.Got = &got
			m.Words = e.Explain(p.State, p.HasIEvent)
		}
		fs.Mismatches = append(fs.Mismatches, m)
	}
	return fs, err
}
