package sim

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
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
}

// Defaults for StateCheck's zero fields.
const (
	DefaultStateParallel = 8
	DefaultStateTimeout  = 10 * time.Second
	DefaultStateList     = 20
)

// ErrStateURL is wrapped by CheckStateURL's errors.
var ErrStateURL = errors.New("invalid state URL")

// CheckStateURL checks a --state-url template: an http(s) URL with {group}
// and {id}.
func CheckStateURL(tmpl string) error {
	for _, p := range []string{"{group}", "{id}"} {
		if !strings.Contains(tmpl, p) {
			return fmt.Errorf("%w: it needs %s, e.g. http://localhost:8080/state/{group}/{id}", ErrStateURL, p)
		}
	}
	u, err := url.Parse(StateURL(tmpl, entity.Key{Group: entity.Subscriber, ID: "1"}))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: want an http:// or https:// URL with a host", ErrStateURL)
	}
	return nil
}

// StateURL fills the template in for one entity. The id is escaped so that
// it is safe in a path and in a query.
func StateURL(tmpl string, k entity.Key) string {
	id := strings.ReplaceAll(url.QueryEscape(k.ID), "+", "%20")
	return strings.ReplaceAll(strings.ReplaceAll(tmpl, "{group}", string(k.Group)), "{id}", id)
}

// probe is one entity's answer.
type probe struct {
	i         int // index in the expectations
	got       entity.State
	hasIEvent bool
	answer    string // set when the answer was not usable
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
				p := c.read(ctx, client, exps[i].Key)
				p.i = i
				mu.Lock()
				fs.Checked++
				switch {
				case p.answer != "":
					fs.Errors++
					bad = append(bad, p)
				case exps[i].Matches(p.got, p.hasIEvent):
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
		if p.answer != "" {
			m.Answer = p.answer
			m.Words = fmt.Sprintf("the state URL answered %s: want 200 {\"exists\": true|false, \"i_event\": N} or 404", p.answer)
		} else {
			got := p.got
			m.Got = &got
			m.Words = e.Explain(p.got, p.hasIEvent)
		}
		fs.Mismatches = append(fs.Mismatches, m)
	}
	return fs, err
}

// read GETs one entity's state with the delivery credentials.
func (c StateCheck) read(ctx context.Context, client *http.Client, k entity.Key) probe {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, StateURL(c.URL, k), nil)
	if err != nil {
		return probe{answer: "an invalid URL"}
	}
	for name, vs := range c.Headers {
		req.Header[name] = append([]string(nil), vs...)
	}
	now := time.Now()
	if c.Auth != nil {
		if err := c.Auth.Sign(req.Header, nil, now); err != nil {
			return probe{answer: "nothing: signing failed: " + err.Error()}
		}
	}
	if req.Header.Get("Date") == "" {
		req.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	}
	resp, err := client.Do(req)
	if err != nil {
		return probe{answer: espf.ErrorClass(err, errors.Is(ctx.Err(), context.DeadlineExceeded))}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusNotFound:
		return probe{}
	case http.StatusOK:
	default:
		return probe{answer: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
	var ans struct {
		Exists *bool `json:"exists"`
		IEvent any   `json:"i_event"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&ans); err != nil || ans.Exists == nil {
		return probe{answer: fmt.Sprintf("200 with %q", shortBody(body))}
	}
	p := probe{got: entity.State{Exists: *ans.Exists}}
	if ans.IEvent != nil {
		n, err := event.ID(ans.IEvent)
		if err != nil {
			return probe{answer: fmt.Sprintf("200 with i_event %v (%v)", ans.IEvent, err)}
		}
		p.got.IEvent, p.hasIEvent = n, true
	}
	return p
}

func shortBody(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
