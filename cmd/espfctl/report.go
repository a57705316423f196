package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/espfctl/espfctl/internal/report"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
)

type reportOptions struct {
	IO    *term.IO
	Files []string
	JSON  bool
}

func newReportCmd(ios *term.IO, runF func(context.Context, *reportOptions) error) *cobra.Command {
	opts := &reportOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "report FILE...",
		Short: "Re-render a send --results file, or merge several (e.g. from several hosts)",
		Long: `Read the JSON lines that send --results wrote and print the same report send
prints: outcomes, latency from intended time and service time, rates, answers.
Several files are merged into one report, as if one sender had sent them all;
- reads standard input. A bad line is named file:line.
Exit 0 when every event was delivered, 1 otherwise, 2 on unreadable input.`,
		Example: `  espfctl report attempts.jsonl
  espfctl report host1.jsonl host2.jsonl --json
  espfctl report - < attempts.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if runF == nil {
				runF = reportRun
			}
			return runF(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "write the report as JSON to stdout")
	return cmd
}

func reportRun(_ context.Context, opts *reportOptions) error {
	m := report.NewMetrics()
	stdin := false
	for _, name := range opts.Files {
		if name == "-" {
			if stdin {
				return usageErrorf("report: - (standard input) given twice")
			}
			stdin = true
			if err := sim.ReadRecords(opts.IO.In, "stdin", m.Add); err != nil {
				return usageErrorf("report: %w", err)
			}
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return usageErrorf("report: %w", err)
		}
		err = sim.ReadRecords(f, name, m.Add)
		_ = f.Close()
		if err != nil {
			return usageErrorf("report: %w", err)
		}
	}
	s := report.NewSummary(m, report.Inputs{})
	if err := renderSummary(opts.IO, s, opts.JSON); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if !s.AllDelivered() {
		return &failedError{errors.New(s.NotDeliveredText())}
	}
	return nil
}
