package sim

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/espfctl/espfctl/internal/report"
)

// Result is one attempt; report.Record is its JSONL form and what `report`
// reads back.
type Result = report.Record

// Classify applies the ESPF's rule (contract.md §2) to one answer: 200 is
// delivered, any 4xx dropped, anything else (other 2xx, 3xx, 5xx, no answer,
// a connection error) re-sent while attempts remain.
func Classify(status int, err error, lastAttempt bool) report.Outcome {
	switch {
	case err == nil && status == 200:
		return report.Delivered
	case err == nil && status >= 400 && status < 500:
		return report.Dropped
	case lastAttempt:
		return report.GaveUp
	}
	return report.Retry
}

// ErrorClass names a transport failure for reports: timeout, reset,
// refused, eof, tls, dns, canceled or connection.
func ErrorClass(err error, timedOut bool) string {
	var dnsErr *net.DNSError
	var tlsErr tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	switch {
	case timedOut:
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.As(err, &dnsErr):
		return "dns"
	case errors.As(err, &tlsErr), errors.As(err, &certErr):
		return "tls"
	}
	return "connection"
}
