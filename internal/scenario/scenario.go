// Package scenario loads espfctl scenario files: what to send, to whom, how
// fast, which faults to inject, and what must hold. Loading is strict and
// reports every problem at once, each with its file, line and column.
package scenario

import (
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/verify"
)

// Version is the scenario format this build reads.
const Version = 1

// Scenario is a validated scenario file. What the engines run is decoded
// into their own config types: the phases and delivery into sim's (and
// checked by sim.NewConfig, as send's flags are), the built-in receiver's
// faults into verify's, generated events into event's.
type Scenario struct {
	File        string
	Name        string
	Description string
	Target      *Target  // nil: start the built-in receiver in-process
	Receiver    Receiver // settings of the built-in receiver (when Target is nil)
	Auth        sign.Config
	Events      Events
	Phases      []sim.Phase  // each with its Name ("phase N" when the file gives none)
	Delivery    sim.Delivery // sim.DefaultDelivery with the file's delivery: keys applied
	API         *API         // nil: no ESPF API mock
	Expect      []Expectation
	Report      Report
}

// Target is the user's Application.
type Target struct {
	URL string
	TLS TLS
	// StateURL is where the Application shows an entity's state, with
	// {group} and {id}: read back after the drain (--state-url).
	StateURL string
	// HTTP2 negotiates HTTP/2 over TLS when the Application offers it
	// (the ESPF speaks HTTP/1.1).
	HTTP2 bool
	// RestartCmd is a shell command (sh -c) that stops the Application
	// abruptly and starts it again; the run runs it Restarts times (0 =
	// restart.DefaultRestarts) at seeded moments while requests are in
	// flight, and judges durability. It needs StateURL.
	RestartCmd string
	Restarts   int
}

// TLS configures the client side of HTTPS to the target, as send's TLS flags do.
type TLS = espf.TLS

// Receiver configures the built-in reference receiver.
type Receiver struct {
	Path    string        // "" = /
	Auth    *sign.Config  // nil: verify with the scenario's auth
	NoAuth  bool          // accept any request without checking credentials
	Strict  bool          // answer 400 to unknown event types and missing variables
	Journal string        // "" = a temporary file, deleted after the run
	Faults  verify.Faults // as serve's fault flags set them
	Report  *StatusReport // nil: report nothing
}

// Events says which events to send: generated (Gen), an explicit List, or
// a File replayed in order.
type Events struct {
	Gen          event.GenConfig // types (weight 1 each) or a mix, first i_event, ids, string ids; the run adds the seed
	List         []RawEvent      // or an explicit list, sent in order
	File         string          // or a JSONL file, replayed in order (path relative to the scenario)
	Renumber     bool            // give every replayed event a new i_event from first_event on
	AllowUnknown bool            // allow event types missing from the catalog
	// Lifecycle, when set, generates entity histories instead (events:
	// {lifecycle: …}); the run adds the seed, the first i_event and the ids.
	Lifecycle *event.LifecycleConfig
}

// RawEvent is one explicit event.
type RawEvent struct {
	Type      string
	Variables map[string]any
}

// API is the ESPF API mock that receives provisioning-status callbacks.
type API struct {
	Listen string        // default 127.0.0.1:0
	Token  string        // when set, callers must send "Authorization: Bearer <token>"
	Wait   time.Duration // after the last delivery, wait at most this long for statuses; default 5s
	// Login and Password are what Session/login accepts (the PortaBilling
	// API mock); both empty with no Token: any login.
	Login    string
	Password string
	// TLS: a certificate made for the run (its CA written to CAOut), or
	// the user's CertFile and KeyFile; none = plain HTTP.
	SelfSigned        bool
	CAOut             string
	CertFile, KeyFile string
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
