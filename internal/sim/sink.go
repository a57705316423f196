package sim

// Sink is the one consumer of a run: every attempt's Record, in the order
// the answers arrived, and a progress Snapshot every Config.ProgressEvery
// and once at the end. Both are called from one goroutine, so a Sink needs
// no lock; it must not hold on to a Record after Record returns unless it
// copies it.
type Sink interface {
	Record(*Record)
	Progress(Snapshot)
}

// Sinks fans a run out to several consumers, in order.
type Sinks []Sink

// Record implements Sink.
func (s Sinks) Record(r *Record) {
	for _, k := range s {
		k.Record(r)
	}
}

// Progress implements Sink.
func (s Sinks) Progress(p Snapshot) {
	for _, k := range s {
		k.Progress(p)
	}
}

// RecordFunc is a Sink of records only.
type RecordFunc func(*Record)

// Record implements Sink.
func (f RecordFunc) Record(r *Record) { f(r) }

// Progress implements Sink.
func (RecordFunc) Progress(Snapshot) {}

// ProgressFunc is a Sink of progress only.
type ProgressFunc func(Snapshot)

// Record implements Sink.
func (ProgressFunc) Record(*Record) {}

// Progress implements Sink.
func (f ProgressFunc) Progress(p Snapshot) { f(p) }
