package journal

import "time"

// writeFailure is a journal that could not commit: the latest error, and
// since when its commits fail.
type writeFailure struct {
	err   error
	since time.Time
}

// noteWrite records how the writer's last commit went and tells
// Config.OnWriteError of a change: the first failure after a success, and
// the first success after a failure.
func (j *Journal) noteWrite(err error) {
	prev := j.failing.Load()
	switch {
	case err != nil && prev == nil:
		j.failing.Store(&writeFailure{err: err, since: time.Now()})
		if j.onWriteError != nil {
			j.onWriteError(err)
		}
	case err != nil:
		j.failing.Store(&writeFailure{err: err, since: prev.since})
	case prev != nil:
		j.failing.Store(nil)
		if j.onWriteError != nil {
			j.onWriteError(nil)
		}
	}
}

// WriteFailure reports whether the journal cannot write now: since when
// its commits fail and the error of the last one, or a nil error when the
// last commit succeeded (or none was tried). A failing journal recovers
// with its next commit that succeeds.
func (j *Journal) WriteFailure() (since time.Time, err error) {
	if f := j.failing.Load(); f != nil {
		return f.since, f.err
	}
	return time.Time{}, nil
}
