package main

import (
	"context"
	"fmt"
	"time"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/verify"
	"github.com/spf13/cobra"
)

type journalOptions struct {
	IO    *term.IO
	File  string
	Type  string
	Since string
	JSON  bool
}

func newJournalCmd(ios *term.IO, runF func(context.Context, *journalOptions) error) *cobra.Command {
	opts := &journalOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "journal FILE [--json] [--type T] [--since T]",
		Short: "List the events a serve journal received",
		Long: `List the events in a journal written by espfctl serve --journal FILE, one per
i_event, in first-delivery order. --json writes JSON lines with i_event,
event_type, variables, deliveries, first_delivery, last_delivery, auth_scheme
and status (the same as GET /events on the server), ready for send to replay.
The file may be read while serve is running.`,
		Example: `  espfctl journal events.db
  espfctl journal events.db --json --type Subscriber/Created --since 2026-11-23T00:00:00Z
  espfctl journal events.db --since 15m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if runF == nil {
				runF = journalRun
			}
			return runF(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Type, "type", "", "only this event type, e.g. Subscriber/Created")
	fs.StringVar(&opts.Since, "since", "", "only events first delivered since: RFC3339, or a duration ago such as 15m")
	fs.BoolVar(&opts.JSON, "json", false, "write JSON lines")
	return cmd
}

// parseSince reads --since: RFC3339, or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usageErrorf("--since %q: want RFC3339 (2026-11-23T01:00:00Z) or a duration ago (15m)", s)
}

func journalRun(ctx context.Context, opts *journalOptions) error {
	since, err := parseSince(opts.Since, time.Now())
	if err != nil {
		return err
	}
	j, err := verify.OpenJournalReadOnly(opts.File)
	if err != nil {
		return err
	}
	defer j.Close()
	evs, err := j.Events(ctx, verify.Filter{Type: opts.Type, Since: since})
	if err != nil {
		return err
	}
	if opts.JSON {
		return verify.WriteJSONL(opts.IO.Out, evs)
	}
	if err := report.Events(opts.IO.Out, evs, opts.IO.IsTTY); err != nil {
		return err
	}
	if opts.IO.ErrTTY || opts.IO.IsTTY {
		fmt.Fprintf(opts.IO.Err, "%d events\n", len(evs))
	}
	return nil
}
