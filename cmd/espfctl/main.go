package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/espfctl/espfctl/internal/term"
)

// Exit codes, the same for every command (README "Exit codes").
const (
	exitOK          = 0   // everything held
	exitFailed      = 1   // ran, and a check failed: invalid header, events not delivered, expectation failed
	exitUsage       = 2   // usage error or invalid input (flags, files, scenario)
	exitError       = 3   // could not do the job: a port would not bind, a file would not write
	exitInterrupted = 130 // interrupted by SIGINT/SIGTERM before finishing
)

func main() { os.Exit(realMain()) }

// realMain is what testscript runs too, so signal handling lives here.
func realMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // the first ^C drains gracefully; a second one kills
	return run(ctx, os.Args[1:], term.System())
}

func run(ctx context.Context, args []string, ios *term.IO) int {
	root := newRootCmd(ios)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(ios.Err, "espfctl: %s\n", message(err))
	return exitCode(ctx, err)
}

// message is err's text for people: an interrupted command says so
// already, so Go's "context canceled" is left out. An error may quote a
// file, a request or an Application's answer: it is escaped
// (term.Escape), so it is one line that cannot drive the terminal; only
// the errors of an errors.Join go on lines of their own.
func message(err error) string {
	msg := escapeError(err)
	if errors.Is(err, context.Canceled) {
		msg = strings.TrimSuffix(strings.TrimSuffix(msg, context.Canceled.Error()), ": ")
		if msg == "" {
			msg = "interrupted"
		}
	}
	return msg
}

// escapeError is err's text escaped, but for the line breaks that
// errors.Join puts between its errors.
func escapeError(err error) string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var texts, escaped []string
		for _, e := range j.Unwrap() {
			if e != nil {
				texts, escaped = append(texts, e.Error()), append(escaped, escapeError(e))
			}
		}
		if len(texts) > 0 && strings.Join(texts, "\n") == err.Error() {
			return strings.Join(escaped, "\n")
		}
	}
	return term.Escape(err.Error())
}

func exitCode(ctx context.Context, err error) int {
	var usage *usageError
	var failed *failedError
	var coded interface{ ExitCode() int }
	switch {
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &failed):
		return exitFailed
	case errors.As(err, &coded):
		return coded.ExitCode()
	case ctx.Err() != nil:
		return exitInterrupted
	}
	return exitError
}

// usageError is a bad flag, argument or input file: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// failedError means the command ran and what it checked did not hold: exit 1.
type failedError struct{ err error }

func (e *failedError) Error() string { return e.err.Error() }
func (e *failedError) Unwrap() error { return e.err }
