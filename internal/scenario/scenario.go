// Package scenario loads espfctl scenario files: what to send, to whom, how
// fast, which faults to inject, and what must hold. Loading is strict and
// reports every problem at once, each with its file, line and column.
package scenario

import (
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/sim"
)

// Version is the scenario format this build reads.
const Version = 1

// Scenario is a validated scenario file.
type Scenario struct {
	File        string
	Name        string
	Description string
	Target      *Target  // nil: start the built-in receiver in-process
	Receiver    Receiver // settings of the built-in receiver (when Target is nil)
	Auth        sign.Config
	Events      Events
	Phases      []Phase
	Delivery    Delivery
	API         *API // nil: no ESPF API mock
	Expect      []Expectation
	Report      Report
}

// Target is the user's Application.
type Target struct {
	URL string
	TLS TLS
}

// TLS configures the client side of HTTPS to the target, as send's TLS flags do.
type TLS = espf.TLS

// Receiver configures the built-in reference receiver.
type Receiver struct {
	Path    string       // "" = /
	Auth    *sign.Config // nil: verify with the scenario's auth
	NoAuth  bool         // accept any request without checking credentials
	Strict  bool         // answer 400 to unknown event types and missing variables
	Journal string       // "" = in memory
	Faults  Faults
	Report  *StatusReport // nil: report nothing
}

// Faults makes the built-in receiver misbehave, reproducibly.
type Faults struct {
	FailFirst  int           // answer the first N deliveries of every event with FailStatus
	FailStatus int           // default 500
	FailRate   float64       // share of deliveries answered FailStatus
	Delay      time.Duration // added handling time (lower bound of a range)
	DelayMax   time.Duration // upper bound of a delay range; 0 = fixed Delay
	HangRate   float64       // share of deliveries never answered
	ResetRate  float64       // share of connections dropped
	Seed       int64
}

// Events says which events to send.
type Events struct {
	Types        []string   // round-robin over these
	Mix          []Weighted // or a weighted mix
	List         []RawEvent // or an explicit list, sent in order
	File         string     // or a JSONL file, replayed in order (path relative to the scenario)
	FirstEvent   int64      // first i_event; default 1
	IDs          IDRange    // entity ids (i_account, i_customer, …) drawn from this range; zero = the sender's default
	StringIDs    bool       // send i_* variables as strings of digits
	AllowUnknown bool       // allow event types missing from the catalog
}

// Weighted is one entry of a mix.
type Weighted struct {
	Type   string
	Weight int
}

// RawEvent is one explicit event.
type RawEvent struct {
	Type      string
	Variables map[string]any
}

// IDRange is an inclusive range of entity ids.
type IDRange struct{ Min, Max int64 }

// Phase is one stretch of the schedule: a rate, an arrival process, and a
// duration or a count.
type Phase struct {
	Name     string
	Rate     sim.Rate
	Arrival  string // constant | poisson
	Duration time.Duration
	Count    int
}

// Delivery is the ESPF's retry and duplicate behaviour.
type Delivery struct {
	Timeout       time.Duration
	RetryInterval time.Duration
	Backoff       string // fixed | exponential
	Jitter        float64
	MaxAttempts   int
	MaxInFlight   int
	Duplicates    float64
	Drain         time.Duration
	Headers       map[string]string
}

// API is the ESPF API mock that receives provisioning-status callbacks.
type API struct {
	Listen string        // default 127.0.0.1:0
	Token  string        // when set, callers must send "Authorization: Bearer <token>"
	Wait   time.Duration // after the last delivery, wait at most this long for statuses; default 5s
}

// StatusReport makes the built-in receiver act as an asynchronous
// Application: after each event's first delivery it reports the account's
// provisioning status to the ESPF API mock.
type StatusReport struct {
	Status string        // OK, IN_PROGRESS, RETRY or FAILED
	Group  string        // the service group, e.g. HSS
	Delay  time.Duration // provisioning time before the report
}

// Report lists the report files to write, besides the text on stdout.
type Report struct {
	JSON    string
	JUnit   string
	HTML    string
	Results string // every attempt as JSONL
}
