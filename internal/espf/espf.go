// Package espf is the ESPF contract (contract.md §1–§2) written once: what
// the ESPF does with an answer, how it names a transport failure, how it
// builds a delivery request and the HTTP client it sends with. send, run,
// check, serve's delivery line and the reports all ask here; nothing below
// this package knows the contract.
package espf

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// Timeout is how long the ESPF waits for a whole answer before it
// re-sends the event: 300 s by default (contract §2).
const Timeout = 300 * time.Second

// Outcome is what the ESPF does with an event after one answer. Its values
// are the stable machine form (results files, --json); Words is the text
// form.
type Outcome string

// Outcomes. "Re-sent" is the one word for a re-send, in code (Resent),
// machine output ("resent") and text ("re-sent").
const (
	Delivered Outcome = "delivered" // exactly 200: removed from the queue
	Dropped   Outcome = "dropped"   // any 4xx: removed, never provisioned
	Resent    Outcome = "resent"    // anything else: re-sent later
	GaveUp    Outcome = "gave_up"   // anything else, and no attempts were left
	Pending   Outcome = "pending"   // cut short by the end of the drain or an interrupt
	// Superseded: waiting for a re-send when a newer event of the same
	// coalesced type for the same account or customer was queued (contract
	// §7, MR115): never sent again, neither delivered nor lost.
	Superseded Outcome = "superseded"
)

// legacyResent is how results files written before the one-word rule named
// a re-send; they are still read.
const legacyResent = "retry"

// UnmarshalText reads an outcome, including the older "retry" for Resent.
func (o *Outcome) UnmarshalText(b []byte) error {
	if string(b) == legacyResent {
		*o = Resent
		return nil
	}
	*o = Outcome(b)
	return nil
}

// Words is the outcome for people: "delivered", "dropped", "re-sent",
// "gave up", "pending".
func (o Outcome) Words() string {
	switch o {
	case Resent:
		return "re-sent"
	case GaveUp:
		return "gave up"
	}
	return string(o)
}

// Classify applies the ESPF's rule to one answer: exactly 200 is delivered,
// any 4xx dropped, anything else (other 2xx, 3xx, 5xx, no answer, a
// connection error) re-sent while attempts remain, else given up. err is a
// transport failure (no HTTP answer).
func Classify(status int, err error, lastAttempt bool) Outcome {
	o := Consequence(status, err != nil)
	if o == Resent && lastAttempt {
		return GaveUp
	}
	return o
}

// Consequence is what the ESPF does with one answer when it may re-send:
// Delivered, Dropped or Resent. failed means there was no HTTP answer.
func Consequence(status int, failed bool) Outcome {
	switch {
	case failed:
		return Resent
	case status == 200:
		return Delivered
	case Is4xx(status):
		return Dropped
	}
	return Resent
}

// Is4xx reports whether status makes the ESPF drop the event.
func Is4xx(status int) bool { return status >= 400 && status < 500 }

// Transport failure classes, as ErrorClass names them.
const (
	ErrTimeout    = "timeout"
	ErrCanceled   = "canceled"
	ErrReset      = "reset"
	ErrRefused    = "refused"
	ErrEOF        = "eof"
	ErrDNS        = "dns"
	ErrTLS        = "tls"
	ErrConnection = "connection"
)

// ErrorClass names a transport failure: timeout, reset, refused, eof, tls,
// dns, canceled or connection. timedOut says the attempt's own deadline
// passed (a timeout, whatever the error looks like).
func ErrorClass(err error, timedOut bool) string {
	var dnsErr *net.DNSError
	var tlsErr tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	switch {
	case timedOut:
		return ErrTimeout
	case errors.Is(err, context.Canceled):
		return ErrCanceled
	case errors.Is(err, syscall.ECONNRESET):
		return ErrReset
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrRefused
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrEOF
	case errors.As(err, &dnsErr):
		return ErrDNS
	case errors.As(err, &tlsErr), errors.As(err, &certErr):
		return ErrTLS
	}
	return ErrConnection
}
