package verify

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultLineQueue is how many lines a LineWriter holds for a slow writer
// before it drops new ones.
const DefaultLineQueue = 1024

// StuckAfter is how long one write may block before /healthz reports the
// writer as stuck.
const StuckAfter = 5 * time.Second

// LineWriter writes lines to w from its own goroutine, so that whoever
// hands it a line never waits for w: when w blocks (a pipe nobody reads)
// and the queue is full, new lines are dropped and counted. serve writes
// its delivery lines through one, so a blocked stdout never holds up an
// answer.
type LineWriter struct {
	w       io.Writer
	queue   chan []byte
	dropped atomic.Int64
	written atomic.Int64
	busy    atomic.Int64 // UnixNano when the write under way began; 0 when idle
	err     atomic.Pointer[error]
	mu      sync.RWMutex // guards closed against sends on queue
	closed  bool
	done    chan struct{}
	now     func() time.Time
}

// NewLineWriter starts a LineWriter holding up to queue lines (0 =
// DefaultLineQueue).
func NewLineWriter(w io.Writer, queue int) *LineWriter {
	if queue <= 0 {
		queue = DefaultLineQueue
	}
	l := &LineWriter{w: w, queue: make(chan []byte, queue), done: make(chan struct{}), now: time.Now}
	go l.run()
	return l
}

// WriteLine queues line (which the LineWriter now owns) and never blocks;
// it reports false when the line was dropped.
func (l *LineWriter) WriteLine(line []byte) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Add(1)
		return false
	}
	select {
	case l.queue <- line:
		return true
	default:
		l.dropped.Add(1)
		return false
	}
}

// run writes what is queued, coalescing the lines waiting into one write.
func (l *LineWriter) run() {
	defer close(l.done)
	buf := make([]byte, 0, 64<<10)
	for line := range l.queue {
		buf = append(buf[:0], line...)
	more:
		for len(buf) < 64<<10 {
			select {
			case next, ok := <-l.queue:
				if !ok {
					break more
				}
				buf = append(buf, next...)
			default:
				break more
			}
		}
		l.busy.Store(l.now().UnixNano())
		_, err := l.w.Write(buf)
		l.busy.Store(0)
		if err != nil {
			l.err.Store(&err)
		}
		l.written.Add(1)
	}
}

// Dropped is how many lines were not written.
func (l *LineWriter) Dropped() int64 { return l.dropped.Load() }

// Stuck reports how long the write under way has blocked, when it is
// longer than StuckAfter.
func (l *LineWriter) Stuck() (time.Duration, bool) {
	since := l.busy.Load()
	if since == 0 {
		return 0, false
	}
	d := l.now().Sub(time.Unix(0, since))
	return d, d >= StuckAfter
}

// Err is the last write error, if any (a closed pipe).
func (l *LineWriter) Err() error {
	if p := l.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Close stops taking lines and waits up to timeout for the queued ones to
// be written; it reports whether they all were. A writer still blocked
// after timeout is left behind (its lines count as dropped).
func (l *LineWriter) Close(timeout time.Duration) bool {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-l.done:
		return true
	case <-t.C:
		l.dropped.Add(int64(len(l.queue)))
		return false
	}
}
