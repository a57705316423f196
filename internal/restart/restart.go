// Package restart runs the restart command of send and check
// (--restart-cmd, a scenario's target.restart_cmd): a shell command that
// stops the Application abruptly and starts it again, at seeded moments of
// the event stream while requests are in flight, never two at once. It
// records each run (entity.Restart) for the durability verdict; the
// sender carries on through it as the ESPF does.
package restart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
)

// Defaults.
const (
	DefaultRestarts = 3               // --restarts
	DefaultTimeout  = 5 * time.Minute // a restart command that runs longer fails
	OutputLimit     = 4 << 10         // the end of a command's output kept
)

// Error is a restart command that failed (exit status other than 0, or
// it could not run): the run cannot judge anything after it.
type Error struct {
	N        int
	ExitCode int // -1 when it did not exit (timeout, could not start)
	Output   string
	Err      error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("restart command (restart %d) failed: %v", e.N, e.Err)
	if out := strings.TrimSpace(e.Output); out != "" {
		msg += "; its output: " + strings.ReplaceAll(out, "\n", " | ")
	} else {
		msg += " (no output)"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Command is the restart command.
type Command struct {
	Shell   string        // run with sh -c
	Timeout time.Duration // 0 = DefaultTimeout
}

// Run runs the command once: restart n. Its output (stdout and stderr
// together) is kept, its end when long. A background process the command
// starts should not keep the command's output open (redirect it): Run
// waits for the output at most a second after the command exits.
func (c Command) Run(ctx context.Context, n int) (entity.Restart, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var out tail
	cmd := exec.CommandContext(ctx, "sh", "-c", c.Shell)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	r := entity.Restart{N: n, At: time.Now()}
	err := cmd.Run()
	r.TookMS = float64(time.Since(r.At).Microseconds()) / 1000
	r.Output = out.String()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // it exited 0; a child it left running holds the output
	}
	r.ExitCode = -1
	if cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("still running after %s", timeout)
		}
		// the words only: an *exec.ExitError in the chain would lend the
		// command's exit status to espfctl's
		return r, &Error{N: n, ExitCode: r.ExitCode, Output: r.Output, Err: errors.New(err.Error())}
	}
	return r, nil
}

// tail keeps the last OutputLimit bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf bytes.Buffer
	cut bool
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if t.buf.Len() > 2*OutputLimit {
		b := slices.Clone(t.buf.Bytes()[t.buf.Len()-OutputLimit:])
		t.buf.Reset()
		t.buf.Write(b)
		t.cut = true
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf.Bytes()
	if len(b) > OutputLimit {
		b, t.cut = b[len(b)-OutputLimit:], true
	}
	if t.cut {
		return "…" + string(b)
	}
	return string(b)
}

// Plan is after how many emitted events each of n restarts is due: at
// seeded points of the planned stream (planned events), one in each of n
// equal slices of its middle 70 %, so that events are sent before the
// first and after the last, and restarts are spread out.
func Plan(n int, planned int64, seed int64) []int64 {
	if n <= 0 {
		return nil
	}
	planned = max(planned, int64(n)*4)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	out := make([]int64, n)
	lo, span := 0.15, 0.70/float64(n)
	for i := range out {
		f := lo + span*(float64(i)+0.25+0.5*rng.Float64()) // the middle half of the slice
		out[i] = max(1, int64(f*float64(planned)))
	}
	return out
}

// Scheduler runs the restarts of one run. Emitted counts the stream
// (the sender's emission hook), Attempt sees each attempt start with the
// number of requests in flight (the sender's attempt hook): a restart
// that is due starts at the next attempt, so at least that request is in
// flight when the command starts. One runs at a time; the next becomes due
// only after the previous one ended. Answered (every attempt's end)
// measures how long the Application took to answer again. A command that
// fails calls OnFail once and no other restart runs.
type Scheduler struct {
	cmd    Command
	at     []int64
	ctx    context.Context
	onFail func(error)

	emitted atomic.Int64
	armed   atomic.Bool
	busy    atomic.Bool
	wg      sync.WaitGroup

	mu   sync.Mutex
	next int // the index in at of the next restart
	done []entity.Restart
	err  error
}

// NewScheduler schedules the restarts after the numbers of emitted events
// in at (Plan). ctx bounds the commands; onFail (may be nil) is told of a
// failed command.
func NewScheduler(ctx context.Context, cmd Command, at []int64, onFail func(error)) *Scheduler {
	return &Scheduler{cmd: cmd, at: at, ctx: ctx, onFail: onFail}
}

// Emitted is the emission hook: one more event of the stream.
func (s *Scheduler) Emitted() {
	n := s.emitted.Add(1)
	if s.busy.Load() {
		return
	}
	s.mu.Lock()
	due := s.err == nil && s.next < len(s.at) && n >= s.at[s.next]
	s.mu.Unlock()
	if due {
		s.armed.Store(true)
	}
}

// Attempt is the attempt hook: an attempt starts, with inFlight requests
// in flight (itself included).
func (s *Scheduler) Attempt(inFlight int64) {
	if !s.armed.Load() || !s.armed.CompareAndSwap(true, false) {
		return
	}
	if !s.busy.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	n := s.next + 1
	s.mu.Unlock()
	s.wg.Add(1)
	go s.fire(n, inFlight)
}

func (s *Scheduler) fire(n int, inFlight int64) {
	defer s.wg.Done()
	r, err := s.cmd.Run(s.ctx, n)
	r.InFlight = inFlight
	s.mu.Lock()
	s.done = append(s.done, r)
	s.next++
	if err != nil && s.err == nil && s.ctx.Err() == nil {
		s.err = err
	}
	failed := s.err != nil
	due := !failed && s.next < len(s.at) && s.emitted.Load() >= s.at[s.next]
	s.mu.Unlock()
	s.busy.Store(false)
	if failed {
		if s.onFail != nil {
			s.onFail(err)
		}
		return
	}
	if due {
		s.armed.Store(true)
	}
}

// Answered is told of every attempt's end: status 0 is no answer. The
// first answer to a request sent after a restart's command ended is the
// Application answering again.
func (s *Scheduler) Answered(sent, answered time.Time, status int) {
	if status == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.done {
		r := &s.done[i]
		if r.AnsweredAgainMS == nil && r.ExitCode == 0 && !sent.Before(r.End()) {
			ms := float64(answered.Sub(r.At).Microseconds()) / 1000
			r.AnsweredAgainMS = &ms
		}
	}
}

// Wait waits for a restart still running and returns every restart run,
// with the time since start, and the first failure.
func (s *Scheduler) Wait(start time.Time) ([]entity.Restart, error) {
	s.armed.Store(false)
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.done)
	for i := range out {
		out[i].AtMS = float64(out[i].At.Sub(start).Microseconds()) / 1000
	}
	return out, s.err
}

// Ran is how many restarts have ended so far.
func (s *Scheduler) Ran() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.done)
}

// Planned is how many restarts were asked for.
func (s *Scheduler) Planned() int { return len(s.at) }
