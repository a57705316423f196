package journal

import (
	"sync"
	"sync/atomic"
)

// A live view (serve's inspector) follows the journal through a
// Subscription: after each group commit the writer hands every subscriber
// the records it committed, without ever waiting for one. A subscriber
// whose buffer is full is dropped (its channel closed) on the spot, so a
// slow browser costs the deliveries nothing.

// feed is the journal's set of subscribers.
type feed struct {
	n    atomic.Int32 // subscribers; the writer skips building records at 0
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives the records the journal commits, one slice per
// group commit, in commit order, without their raw capture. C is closed
// when the subscriber fell behind by more than its buffer (Dropped reports
// it), when Close is called, or when the journal closes.
type Subscription struct {
	C       <-chan []Record
	c       chan []Record
	f       *feed
	dropped atomic.Bool
}

// Subscribe starts a subscription that holds up to buf commits' records
// while its reader is busy (at least 1).
func (j *Journal) Subscribe(buf int) *Subscription {
	s := &Subscription{c: make(chan []Record, max(buf, 1)), f: &j.feed}
	s.C = s.c
	f := &j.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	if j.closedFeed() {
		close(s.c)
		return s
	}
	if f.subs == nil {
		f.subs = map[*Subscription]struct{}{}
	}
	f.subs[s] = struct{}{}
	f.n.Add(1)
	return s
}

// closedFeed reports whether the writer has ended (no more commits).
func (j *Journal) closedFeed() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// Subscribers is how many subscriptions are open.
func (j *Journal) Subscribers() int { return int(j.feed.n.Load()) }

// Dropped reports whether the subscription was closed because its reader
// fell behind.
func (s *Subscription) Dropped() bool { return s.dropped.Load() }

// Close ends the subscription; C is closed.
func (s *Subscription) Close() {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.remove(s)
}

// remove closes s if it is still subscribed; f.mu is held.
func (f *feed) remove(s *Subscription) {
	if _, ok := f.subs[s]; ok {
		delete(f.subs, s)
		close(s.c)
		f.n.Add(-1)
	}
}

// publish hands records to every subscriber without blocking.
func (f *feed) publish(recs []Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		select {
		case s.c <- recs:
		default:
			s.dropped.Store(true)
			f.remove(s)
		}
	}
}

// closeAll ends every subscription (the journal closed).
func (f *feed) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		f.remove(s)
	}
}
