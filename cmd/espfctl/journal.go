package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/espfctl/espfctl/internal/journal"
	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/verify"
	"github.com/spf13/cobra"
)

type journalOptions struct {
	IO       *term.IO
	File     string
	Type     string
	Since    string
	After    int64
	Limit    int
	JSON     bool
	Rejected bool
	Copies   bool
	Raw      bool
	Entities bool
	hasAfter bool // --after was given (0 is an i_event too)
}

func newJournalCmd(ios *term.IO, runF func(context.Context, *journalOptions) error) *cobra.Command {
	opts := &journalOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "journal FILE [--json] [--raw] [--rejected | --copies] [--type T] [--since T] [--after I_EVENT] [--limit N]",
		Short: "List the events (or the rejected deliveries, or the later copies) a serve journal received",
		Long: `List the events in a journal written by espfctl serve --journal FILE, one per
i_event, in first-delivery order. --json writes JSON lines with i_event,
event_type, variables, deliveries, first_delivery, last_delivery, auth_scheme,
status, and the raw capture of the first delivery: body (the bytes as
received, or body_base64 when they are not UTF-8) and headers (credentials
redacted); the same as GET /events on serve's admin listener, ready for send
--events to replay byte for byte. --raw shows each event's headers and body.

--rejected lists the deliveries not answered 200 instead (refused by serve,
faulted, or refused by the Application behind --forward-to), oldest first
(with --limit N: the newest N, oldest first, as tail shows them): time,
answer, auth scheme, remote address, i_event, type, the Application's answer
and the reason; with --raw their headers and what was kept of their body.

--copies lists the later copies of events instead, newest first: the
repeats of an i_event already answered 200 (duplicate) and the inspector's
replays to the Application (replay): time, kind, i_event, type, the
event's deliveries answered 200 at that copy, serve's answer, auth scheme
and result, remote address, and for a replay the row it replayed and the
Application's answer. --json lines carry time, kind, id, i_event,
event_type, entity, deliveries, status, auth_scheme, auth, reason, flags,
remote, source, forward_status, forward_ms, forward_error, body (or
body_base64), body_size and headers; --raw shows each copy's headers and
body. --type, --since and
--limit (the newest N) apply. serve keeps the newest duplicates
(--max-copies) and every replay; a note on stderr says how many older
duplicates it did not keep (each event's deliveries still counts them). A
journal written before serve kept copies lists none.

--entities lists every entity the events named, as serve keeps it (contract
§7, design b: only a newer i_event applies, a deleted entity keeps a
tombstone): entity, state (existing or deleted) and the last i_event applied;
what GET /state/{group}/{id} answers.

Text output escapes control characters; JSON output is valid UTF-8, every
line starting with "schema_version":1 (it changes only when a field changes
its meaning or goes away). The file may be read while serve is running.`,
		Example: `  espfctl journal events.db
  espfctl journal events.db --json --type Subscriber/Created --since 2026-11-23T00:00:00Z
  espfctl journal events.db --since 15m --raw
  espfctl journal events.db --after 7615 --limit 100 --json
  espfctl journal events.db --rejected --raw --limit 20
  espfctl journal events.db --copies --type Subscriber/Created --since 1h --limit 50
  espfctl journal events.db --entities --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			opts.hasAfter = cmd.Flags().Changed("after")
			if runF == nil {
				runF = journalRun
			}
			return runF(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Type, "type", "", "only this event type, e.g. Subscriber/Created")
	fs.StringVar(&opts.Since, "since", "", "only events first delivered (rejections, copies made) since: RFC3339, or a duration ago such as 15m")
	fs.Int64Var(&opts.After, "after", 0, "only events after this i_event in first-delivery order (the last one of the previous page)")
	fs.IntVar(&opts.Limit, "limit", 0, "at most N events (with --rejected or --copies: the newest N); 0 = all")
	fs.BoolVar(&opts.JSON, "json", false, "write JSON lines")
	fs.BoolVar(&opts.Rejected, "rejected", false, "list the deliveries not answered 200 instead of the events")
	fs.BoolVar(&opts.Copies, "copies", false, "list the later copies instead of the events, newest first: duplicates answered 200 and the inspector's replays")
	fs.BoolVar(&opts.Raw, "raw", false, "show each delivery's headers (credentials redacted) and body")
	fs.BoolVar(&opts.Entities, "entities", false, "list the entities the events named and their state (design b), instead of the events")
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

func (o *journalOptions) validate() error {
	switch {
	case o.Limit < 0:
		return usageErrorf("--limit %d: want 0 (all) or a positive number", o.Limit)
	case o.JSON && o.Raw:
		return usageErrorf("--json and --raw: give one (--json lines already carry body and headers)")
	case o.Entities && (o.Rejected || o.Copies || o.Raw || o.Type != "" || o.hasAfter || o.Since != "" || o.Limit != 0):
		return usageErrorf("--entities lists every entity's state: it takes only --json")
	case o.Rejected && o.Copies:
		return usageErrorf("--rejected and --copies: give one")
	case o.Rejected && (o.Type != "" || o.hasAfter):
		return usageErrorf("--rejected lists every rejection: --type and --after apply to events only")
	case o.Copies && o.hasAfter:
		return usageErrorf("--copies lists the newest copies first: --after applies to events only (use --since or --limit)")
	}
	return nil
}

func journalRun(ctx context.Context, opts *journalOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	since, err := parseSince(opts.Since, time.Now())
	if err != nil {
		return err
	}
	if _, err := os.Stat(opts.File); errors.Is(err, fs.ErrNotExist) { // SQLite would say "unable to open database file"
		return fmt.Errorf("open journal %s: no such file (serve --journal FILE writes one)", opts.File)
	}
	j, err := journal.OpenReadOnly(opts.File)
	if err != nil {
		if errors.Is(err, journal.ErrNotJournal) {
			return &usageError{err}
		}
		return err
	}
	defer j.Close()
	if opts.Rejected {
		return listRejections(ctx, opts, j, since)
	}
	if opts.Copies {
		return listCopies(ctx, opts, j, since)
	}
	if opts.Entities {
		return listEntities(ctx, opts, j)
	}
	return listEvents(ctx, opts, j, since)
}

// recordTable is a table of records: report's EventTable, RejectionTable
// and CopyTable.
type recordTable interface {
	Write(*journal.Record) error
	Flush() error
}

// listRecords writes the records q selects, as JSON lines, their raw
// capture (raw) or a table, and counts them; the journal is read a page
// at a time.
func listRecords(ctx context.Context, opts *journalOptions, j *journal.Journal, q journal.Query,
	raw func(io.Writer, *journal.Record) error, table func(io.Writer, bool) recordTable) (int, error) {
	var each func(*journal.Record) error
	flush := func() error { return nil }
	switch {
	case opts.JSON:
		each = journal.NewEncoder(opts.IO.Out).Encode
	case opts.Raw:
		each = func(r *journal.Record) error { return raw(opts.IO.Out, r) }
	default:
		t := table(opts.IO.Out, opts.IO.IsTTY)
		each, flush = t.Write, t.Flush
	}
	n := 0
	err := j.Each(ctx, q, func(r *journal.Record) error { n++; return each(r) })
	if ferr := flush(); err == nil {
		err = ferr
	}
	return n, err
}

// listEvents lists the events: their first deliveries, with what the
// journal kept of them, in first-delivery order.
func listEvents(ctx context.Context, opts *journalOptions, j *journal.Journal, since time.Time) error {
	q := journal.Query{Kinds: []journal.Kind{journal.First}, Oldest: true, Capture: true, Type: opts.Type, Since: since, Limit: opts.Limit}
	if opts.hasAfter {
		r, err := j.Get(ctx, journal.First, opts.After)
		if errors.Is(err, journal.ErrNotFound) {
			return usageErrorf("--after %d: no such i_event in %s", opts.After, opts.File)
		}
		if err != nil {
			return err
		}
		c := r.Cursor()
		q.After = &c
	}
	n, err := listRecords(ctx, opts, j, q, report.RawEvent,
		func(w io.Writer, pad bool) recordTable { return report.NewEventTable(w, pad) })
	if err != nil {
		return err
	}
	if !opts.JSON && (opts.IO.ErrTTY || opts.IO.IsTTY) {
		fmt.Fprintf(opts.IO.Err, "%d events\n", n)
	}
	return nil
}

// listRejections lists the rejections in the order the journal wrote
// them, oldest first; with --limit N the newest N, still oldest first.
func listRejections(ctx context.Context, opts *journalOptions, j *journal.Journal, since time.Time) error {
	q := journal.Query{Kinds: []journal.Kind{journal.Rejected}, Oldest: true, ByID: true, Capture: true, Since: since, Tail: opts.Limit}
	n, err := listRecords(ctx, opts, j, q, report.RawRejection,
		func(w io.Writer, pad bool) recordTable { return report.NewRejectionTable(w, pad) })
	if err != nil {
		return err
	}
	dropped, err := j.RejectionsDropped(ctx)
	if err != nil {
		return err
	}
	if dropped > 0 {
		fmt.Fprintf(opts.IO.Err, "note: %d older rejected deliveries were not kept (serve --max-rejected keeps the newest)\n", dropped)
	}
	if !opts.JSON && (opts.IO.ErrTTY || opts.IO.IsTTY) {
		fmt.Fprintf(opts.IO.Err, "%d rejected deliveries\n", n)
	}
	return nil
}

// listCopies lists the copies, newest first: the duplicates and the
// inspector's replays; --json and --raw read each one's raw capture.
func listCopies(ctx context.Context, opts *journalOptions, j *journal.Journal, since time.Time) error {
	q := journal.Query{Kinds: []journal.Kind{journal.Duplicate, journal.Replay}, Type: opts.Type, Since: since, Limit: opts.Limit,
		Capture: opts.JSON || opts.Raw}
	n, err := listRecords(ctx, opts, j, q, report.RawCopy,
		func(w io.Writer, pad bool) recordTable { return report.NewCopyTable(w, pad) })
	if err != nil {
		return err
	}
	if !j.KeepsCopies() {
		fmt.Fprintf(opts.IO.Err, "note: %s was written before serve kept copies: its events' deliveries are counted, their duplicates not kept\n", term.Escape(opts.File))
	}
	dropped, err := j.CopiesDropped(ctx)
	if err != nil {
		return err
	}
	if dropped > 0 {
		fmt.Fprintf(opts.IO.Err, "note: %d older duplicate copies were not kept (serve --max-copies keeps the newest; the events' deliveries count them all)\n", dropped)
	}
	if !opts.JSON && (opts.IO.ErrTTY || opts.IO.IsTTY) {
		fmt.Fprintf(opts.IO.Err, "%d copies\n", n)
	}
	return nil
}

// listEntities folds the journal's events into serve's entity table and
// lists it.
func listEntities(ctx context.Context, opts *journalOptions, j *journal.Journal) error {
	states, err := verify.LoadEntityStates(ctx, j)
	if err != nil {
		return err
	}
	list := states.List()
	if opts.JSON {
		return report.EntityStatesJSON(opts.IO.Out, list)
	}
	if err := report.EntityStates(opts.IO.Out, list, opts.IO.Layout()); err != nil {
		return err
	}
	if opts.IO.ErrTTY || opts.IO.IsTTY {
		fmt.Fprintf(opts.IO.Err, "%d entities\n", len(list))
	}
	return nil
}
