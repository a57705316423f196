package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/schema"
)

// Record is one attempt, as `send --results` writes it (one JSON object per
// line, with "schema_version" first: docs/json.md) and `report` reads it
// back. Fields are added, never renamed.
type Record struct {
	IEvent    int64        `json:"i_event"`
	EventType string       `json:"event_type"`
	Entity    string       `json:"entity,omitempty"` // e.g. i_account=1000889
	Attempt   int          `json:"attempt"`          // 1 for the first send
	Phase     int          `json:"phase,omitempty"`  // index of the schedule phase the event was started in (0 = the first)
	Duplicate bool         `json:"duplicate,omitempty"`
	Intended  time.Time    `json:"intended"` // when the schedule (or the re-send timer) wanted it sent
	Sent      time.Time    `json:"sent"`     // when the request was handed to the connection
	Answered  time.Time    `json:"answered"` // when the status line arrived, or the error
	Status    int          `json:"status,omitempty"`
	Error     string       `json:"error,omitempty"`  // an espf.ErrorClass: timeout, reset, refused, eof, tls, dns, connection, canceled
	Detail    string       `json:"detail,omitempty"` // the transport error's own words, e.g. the x509 reason of a tls error
	Outcome   espf.Outcome `json:"outcome"`
	// Last marks the attempts of the last event of an entity's history in a
	// lifecycle stream (event.Item.Last).
	Last bool `json:"last,omitempty"`
	// Reply is what the Application answered, when it was not a plain
	// delivery: any status but 200, or a 200 whose body reads as a failure.
	Reply *espf.Reply `json:"answer,omitempty"`
}

// Latency is measured from the intended send time, so time lost waiting for
// a connection or a free slot counts (no coordinated omission).
func (r *Record) Latency() time.Duration { return r.Answered.Sub(r.Intended) }

// Service is the time from handing the request to the answer.
func (r *Record) Service() time.Duration { return r.Answered.Sub(r.Sent) }

// SendError is how late the request left: actual - intended.
func (r *Record) SendError() time.Duration { return r.Sent.Sub(r.Intended) }

// Answer names the answer: the status code, or the error class.
func (r *Record) Answer() string {
	if r.Error != "" {
		return r.Error
	}
	return strconv.Itoa(r.Status)
}

// ErrorText is the transport error in words: its class and, where the
// error says more, its own words ("refused: dial tcp 127.0.0.1:8080:
// connect: connection refused"); "" when the attempt was answered.
func (r *Record) ErrorText() string {
	switch {
	case r.Error == "":
		return ""
	case r.Detail == "":
		return r.Error
	case strings.HasPrefix(r.Detail, r.Error+":"):
		return r.Detail
	}
	return r.Error + ": " + r.Detail
}

// ReadRecords feeds every JSON line of r to add; name is used in errors
// (file:line). Lines with and without "schema_version" are read alike.
func ReadRecords(r io.Reader, name string, add func(*Record)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		add(&rec)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// RecordWriter is a Sink that writes every attempt as a JSON line (the
// results file). Flush reports the first write error.
type RecordWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
	err error
}

// NewRecordWriter writes records to w, buffered.
func NewRecordWriter(w io.Writer) *RecordWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &RecordWriter{w: bw, enc: json.NewEncoder(bw)}
}

// recordLine is one line of a results file: the record after the schema
// version.
type recordLine struct {
	SchemaVersion int `json:"schema_version"`
	*Record
}

// Record implements Sink.
func (rw *RecordWriter) Record(r *Record) {
	if rw.err == nil {
		rw.err = rw.enc.Encode(recordLine{schema.Version, r})
	}
}

// Progress implements Sink; a results file has no progress.
func (rw *RecordWriter) Progress(Snapshot) {}

// Flush writes what is buffered and returns the first error.
func (rw *RecordWriter) Flush() error {
	if rw.err == nil {
		rw.err = rw.w.Flush()
	}
	if rw.err != nil {
		return fmt.Errorf("write results: %w", rw.err)
	}
	return nil
}
