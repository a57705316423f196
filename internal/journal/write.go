package journal

import "errors"

// The write path. The receiver hands each request to the journal as a
// Record: Commit for a delivery answered 200 (it waits for the commit,
// and learns whether the delivery was the event's first), Log for one not
// answered 200 (it never waits), CommitReplay for the inspector's replay.
// One writer goroutine takes what is pending and commits it in one
// transaction (group commit, commit.go).

// Outcome is what a committed delivery did to its event.
type Outcome struct {
	Deliveries int64 // deliveries of this i_event answered 200, this one included
	First      bool  // this delivery is the event's first successful one
}

type pending struct {
	r    Record      // Kind is First (a delivery answered 200), Rejected or Replay
	done chan result // nil: nobody waits (a logged rejection)
}

type result struct {
	out Outcome
	id  int64 // the row written: the i_event of a first delivery, else the copy's or rejection's id
	err error
}

// errNoIEvent is Commit's error for a record without an i_event.
var errNoIEvent = errors.New("journal: a delivery answered 200 without an i_event")

// Commit commits a delivery answered 200 (r's Kind is ignored: the
// database decides whether it is the event's first delivery or a
// duplicate) and reports what it did to the event. It returns only after
// the commit, or its failure: never answer 200 before it.
func (j *Journal) Commit(r Record) (Outcome, error) {
	if r.IEvent == nil {
		return Outcome{}, errNoIEvent
	}
	r.Kind = First
	res := j.wait(r)
	return res.out, res.err
}

// CommitReplay commits the inspector's replay of a delivery to the
// Application and returns its record's id. It returns after the commit.
func (j *Journal) CommitReplay(r Record) (int64, error) {
	r.Kind = Replay
	res := j.wait(r)
	return res.id, res.err
}

// wait queues r for the writer and waits for its commit.
func (j *Journal) wait(r Record) result {
	done := make(chan result, 1)
	j.mu.RLock()
	if j.closed {
		j.mu.RUnlock()
		return result{err: ErrClosed}
	}
	j.reqs <- pending{r: r, done: done}
	j.mu.RUnlock()
	return <-done
}

// Log queues a request that was not answered 200, without waiting for the
// commit. When the writer is behind by rejectQueue rejections, the record
// is dropped and counted instead: a flood of bad requests never holds up
// an answer.
func (j *Journal) Log(r Record) {
	r.Kind = Rejected
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.closed {
		return
	}
	select {
	case j.rejects <- pending{r: r}:
	default:
		j.overflow.Add(1)
		j.rej.dropped.Add(1)
	}
}

// writer is the journal's only writer: it takes what is pending (up to
// maxBatch, deliveries waiting for their answer first, then rejections),
// commits it in one transaction (group commit) and only then releases the
// waiting requests.
func (j *Journal) writer() {
	defer j.feed.closeAll() // after done is closed: no Subscribe can slip in between
	defer close(j.done)
	batch := make([]pending, 0, maxBatch)
	reqs, rejects := j.reqs, j.rejects
	for reqs != nil || rejects != nil {
		batch = batch[:0]
		select {
		case p, ok := <-reqs:
			if !ok {
				reqs = nil
				continue
			}
			batch = append(batch, p)
		case p, ok := <-rejects:
			if !ok {
				rejects = nil
				continue
			}
			batch = append(batch, p)
		}
		batch, reqs = fill(batch, reqs)
		batch, rejects = fill(batch, rejects)
		j.connMu.Lock()
		results, err := j.write(batch)
		j.connMu.Unlock()
		j.noteWrite(err)
		for i, p := range batch {
			if p.done == nil {
				continue
			}
			if err != nil {
				p.done <- result{err: err}
			} else {
				p.done <- results[i]
			}
		}
	}
}

// fill appends what ch holds now, up to maxBatch; it returns nil for ch
// once ch is closed and drained.
func fill(batch []pending, ch chan pending) ([]pending, chan pending) {
	for ch != nil && len(batch) < maxBatch {
		select {
		case p, ok := <-ch:
			if !ok {
				return batch, nil
			}
			batch = append(batch, p)
		default:
			return batch, ch
		}
	}
	return batch, ch
}
