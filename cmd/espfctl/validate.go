package main

import (
	"encoding/json"
	"fmt"

	"github.com/espfctl/espfctl/internal/scenario"
	"github.com/espfctl/espfctl/internal/schema"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
)

type validateOptions struct {
	IO    *term.IO
	Files []string
	JSON  bool
}

type validateResult struct {
	SchemaVersion int             `json:"schema_version"` // schema.Version (docs/json.md)
	File          string          `json:"file"`
	Valid         bool            `json:"valid"`
	Errors        []validateError `json:"errors,omitempty"`
}

type validateError struct {
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

func newValidateCmd(ios *term.IO, runF func(*validateOptions) error) *cobra.Command {
	opts := &validateOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files without running them",
		Long: `Check scenario files without running them: unknown keys, wrong types, bad
durations or rates, unknown schemes or event types, missing credentials.
Every problem is reported at once as file:line:col: message.
Exits 0 when every file is valid, 2 otherwise.`,
		Example: `  espfctl validate scenarios/*.yaml
  espfctl validate --json my-app.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if runF != nil {
				return runF(opts)
			}
			return validateRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print one JSON object per file")
	return cmd
}

func validateRun(opts *validateOptions) error {
	var bad []error
	for _, f := range opts.Files {
		s, err := scenario.Load(f)
		res := validateResult{SchemaVersion: schema.Version, File: f, Valid: err == nil}
		for _, e := range scenario.Errors(err) {
			res.Errors = append(res.Errors, validateError{Line: e.Line, Col: e.Col, Message: e.Msg})
		}
		switch {
		case opts.JSON:
			if err := json.NewEncoder(opts.IO.Out).Encode(res); err != nil {
				return err
			}
		case err == nil:
			fmt.Fprintf(opts.IO.Out, "%s: ok (%d phases, %d expectations)\n", term.Escape(f), len(s.Phases), len(s.Expect))
		default:
			for _, e := range scenario.Errors(err) {
				fmt.Fprintln(opts.IO.Err, term.Escape(e.Error()))
			}
		}
		if err != nil {
			bad = append(bad, err)
		}
	}
	if len(bad) > 0 {
		// the positioned errors are already printed; say how many files failed
		return &usageError{fmt.Errorf("%d of %d scenario files are invalid", len(bad), len(opts.Files))}
	}
	return nil
}
