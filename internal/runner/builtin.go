package runner

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/verify"
)

// builtin is the in-process reference receiver on 127.0.0.1. Without a
// receiver.journal its journal is a scratch file in a temporary directory,
// removed when the run ends: an in-memory journal would grow with every
// event (the database holds them all, for duplicate detection), a file
// keeps the run's memory flat.
type builtin struct {
	rc      *verify.Receiver
	journal *journal.Journal
	scratch string // the scratch journal's directory, or ""
	url     string
	base    string // http://127.0.0.1:port, for GET /state/…
	cancel  context.CancelFunc
	done    chan error

	mu      sync.Mutex
	first   idSet // i_events answered 200 as their first delivery
	twice   int64 // first deliveries of an i_event already in first
	reasons map[rejectKey]int64
}

// rejectKey is one kind of answer other than 200.
type rejectKey struct {
	status int
	reason string
}

// maxReasons bounds the distinct rejection reasons kept (reasons that name
// an i_event or a value are many); the rest count under "other reasons".
const maxReasons = 100

// reject counts an answer other than 200 by its reason.
func (b *builtin) reject(d verify.Delivery) {
	reason := d.Reason
	switch {
	case reason == "" && d.Fault != "":
		reason = "fault: " + d.Fault
	case reason == "":
		reason = http.StatusText(d.Status)
	}
	if len(reason) > 200 {
		reason = reason[:200] + "…"
	}
	k := rejectKey{d.Status, reason}
	if _, ok := b.reasons[k]; !ok && len(b.reasons) >= maxReasons {
		k.reason = "other reasons"
	}
	b.reasons[k]++
}

// rejections are the counted reasons, most frequent first.
func (b *builtin) rejections() []report.Rejection {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []report.Rejection
	for k, n := range b.reasons {
		out = append(out, report.Rejection{Status: k.status, Reason: k.reason, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, c := out[i], out[j]
		if a.Count != c.Count {
			return a.Count > c.Count
		}
		if a.Status != c.Status {
			return a.Status < c.Status
		}
		return a.Reason < c.Reason
	})
	return out
}

func startBuiltin(ctx context.Context, s *scenario.Scenario, rep *reporter) (*builtin, error) {
	r := s.Receiver
	var auth sign.Auth
	if !r.NoAuth {
		cfg := s.Auth
		if r.Auth != nil {
			cfg = *r.Auth
		}
		a, err := sign.New(cfg)
		if err != nil {
			return nil, &InputError{"receiver.auth", err}
		}
		auth = a
	}
	b := &builtin{reasons: map[rejectKey]int64{}, done: make(chan error, 1)}
	j, err := b.openJournal(r.Journal)
	if err != nil {
		return nil, err
	}
	b.journal = j
	b.rc, err = verify.NewReceiver(verify.Config{Auth: auth, Path: r.Path, Strict: r.Strict, Faults: r.Faults, Journal: j,
		OnDelivery: func(d verify.Delivery) {
			b.mu.Lock()
			switch {
			case d.Status == http.StatusOK && !d.Duplicate && d.IEvent != nil:
				if !b.first.add(*d.IEvent) {
					b.twice++
				}
			case d.Status != http.StatusOK:
				b.reject(d)
			}
			b.mu.Unlock()
			if rep != nil {
				rep.onDelivery(d)
			}
		}})
	if err != nil {
		b.closeJournal()
		return nil, &InputError{"receiver", err}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.closeJournal()
		return nil, fmt.Errorf("start the built-in receiver: %w", err)
	}
	path := r.Path
	if path == "" {
		path = "/"
	}
	b.base = "http://" + ln.Addr().String()
	b.url = b.base + path
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.cancel = cancel
	go func() { b.done <- verify.Serve(sctx, ln, b.rc, time.Second) }()
	return b, nil
}

// openJournal opens receiver.journal, or a scratch journal in a new
// temporary directory when the scenario names none.
func (b *builtin) openJournal(path string) (*journal.Journal, error) {
	if path != "" {
		j, err := journal.Open(journal.Config{Path: path})
		if err != nil {
			return nil, &InputError{"receiver.journal", err}
		}
		return j, nil
	}
	dir, err := os.MkdirTemp("", "espfctl-run-")
	if err != nil {
		return nil, fmt.Errorf("start the built-in receiver: a temporary journal: %w", err)
	}
	j, err := journal.Open(journal.Config{Path: filepath.Join(dir, "journal.db"), Scratch: true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start the built-in receiver: a temporary journal: %w", err)
	}
	b.scratch = dir
	return j, nil
}

// closeJournal closes the journal and removes a scratch journal's files.
func (b *builtin) closeJournal() {
	b.journal.Close()
	if b.scratch != "" {
		os.RemoveAll(b.scratch)
		b.scratch = ""
	}
}

// finish stops the receiver and compares it with what the sender saw
// delivered: events processed more than once, and events answered 200 that
// the journal does not hold. The journal is read a page of i_events at a
// time, so the comparison costs no memory per event.
func (b *builtin) finish(ctx context.Context, delivered *idSet) (verify.Stats, int64, int64, error) {
	b.shutdown()
	st := b.rc.Stats()
	b.mu.Lock()
	twice := b.twice
	b.mu.Unlock()
	var held int64 // delivered i_events the journal holds (each once: i_event is its key)
	err := b.journal.EachIEvent(context.WithoutCancel(ctx), func(id int64) error {
		if delivered.has(id) {
			held++
		}
		return nil
	})
	if err != nil {
		return st, twice, 0, fmt.Errorf("read the built-in receiver's journal: %w", err)
	}
	return st, twice, delivered.len() - held, nil
}

// shutdown stops serving: in-flight requests get a second to finish (a
// request the faults hang is cut off), and nothing is answered after it.
func (b *builtin) shutdown() {
	if b.cancel != nil {
		b.cancel()
		b.cancel = nil
		<-b.done // Serve's error after shutdown was requested tells nothing about the run
	}
}

// stop shuts down and closes the journal.
func (b *builtin) stop() {
	b.shutdown()
	b.rc.Close()
	b.closeJournal()
}
