package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Outcome is what the sender did after one attempt, following the ESPF
// (contract.md §2).
type Outcome string

// Attempt outcomes.
const (
	Delivered Outcome = "delivered" // 200: removed from the queue
	Dropped   Outcome = "dropped"   // 4xx: removed, never provisioned
	Retry     Outcome = "retry"     // anything else: re-sent later
	GaveUp    Outcome = "gave_up"   // anything else, and no attempts were left
	Pending   Outcome = "pending"   // cut short by the end of the drain or an interrupt
)

// Record is one attempt, as `send --results` writes it (one JSON object per
// line) and `report` reads it back. Fields are added, never renamed.
type Record struct {
	IEvent    int64     `json:"i_event"`
	EventType string    `json:"event_type"`
	Entity    string    `json:"entity,omitempty"` // e.g. i_account=1000889
	Attempt   int       `json:"attempt"`          // 1 for the first send
	Duplicate bool      `json:"duplicate,omitempty"`
	Intended  time.Time `json:"intended"` // when the schedule (or the retry timer) wanted it sent
	Sent      time.Time `json:"sent"`     // when the request was handed to the connection
	Answered  time.Time `json:"answered"` // when the status line arrived, or the error
	Status    int       `json:"status,omitempty"`
	Error     string    `json:"error,omitempty"` // timeout, reset, refused, eof, tls, dns, connection, canceled
	Outcome   Outcome   `json:"outcome"`
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
	return fmt.Sprint(r.Status)
}

// ReadRecords feeds every JSON line of r to add.
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
