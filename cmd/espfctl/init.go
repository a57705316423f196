package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/espfctl/espfctl/internal/schema"
	"github.com/espfctl/espfctl/internal/starter"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
)

type initOptions struct {
	IO   *term.IO
	Auth authFlags
	List bool
	JSON bool
	Lang string
	Dir  string
}

func newInitCmd(ios *term.IO, runF func(*initOptions) error) *cobra.Command {
	opts := &initOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "init LANG DIR",
		Short: "Write a correct ESPF Application to start from, in Python or PHP",
		Long: `Write a small, complete ESPF Application into DIR (a new or empty
directory), in LANG (` + strings.Join(langNames(), ", ") + `; --list says what each needs),
configured with the credentials the ESPF sends (the same flags as serve).

It verifies the scheme as the contract says, answers exactly 200 only after
the event, its i_event and your work are committed in one transaction,
answers a re-send 200 without doing the work again, applies an entity's
events only forward in i_event order, and serves GET /state/{group}/{id} for
--state-url. Your code goes in one function (provision). DIR/start PORT
runs it on 127.0.0.1:PORT; its README says how to test it and run it in
production. config.json holds the credentials (written 0600).`,
		Example: `  espfctl init python espf-app --auth basic --user pb --password-file pb.txt
  ESPFCTL_KEY=s3cret espfctl init php espf-app --auth signature --key-id pb-prod
  espfctl init --list`,
		Args: func(cmd *cobra.Command, args []string) error {
			if opts.List {
				return cobra.NoArgs(cmd, args)
			}
			if len(args) != 2 {
				return usageErrorf("init takes LANG and DIR (%s), e.g. espfctl init python espf-app --auth basic …", strings.Join(langNames(), ", "))
			}
			return nil
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return langNames(), cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				opts.Lang, opts.Dir = args[0], args[1]
			}
			if runF == nil {
				runF = initRun
			}
			return runF(opts)
		},
	}
	fs := cmd.Flags()
	opts.Auth.register(fs, withAll)
	fs.BoolVar(&opts.List, "list", false, "list the languages and what each needs installed")
	fs.BoolVar(&opts.JSON, "json", false, "--list: as JSON")
	return cmd
}

func langNames() []string {
	var out []string
	for _, l := range starter.Langs() {
		out = append(out, l.Name)
	}
	return out
}

func initRun(opts *initOptions) error {
	ios := opts.IO
	if opts.List {
		if opts.JSON {
			type listed struct {
				SchemaVersion int `json:"schema_version"`
				starter.Lang
			}
			var out []listed
			for _, l := range starter.Langs() {
				out = append(out, listed{schema.Version, l})
			}
			enc := json.NewEncoder(ios.Out)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		for _, l := range starter.Langs() {
			fmt.Fprintf(ios.Out, "%s\t%s\tstart: %s\ttests: %s\tproduction: %s\n", l.Name, l.Needs, l.Dev, l.Test, l.Prod)
		}
		return nil
	}
	if opts.Auth.Scheme == "" {
		return usageErrorf("--auth is required (one of basic, custom, signature, bearer): the credentials the ESPF sends")
	}
	cfg, err := opts.Auth.config(opts.Auth.Scheme)
	if err != nil {
		return err
	}
	wrote, err := starter.Write(opts.Lang, opts.Dir, starter.Config{Creds: cfg})
	switch {
	case errors.Is(err, starter.ErrNotEmpty):
		return usageErrorf("%w", err)
	case err != nil && len(wrote) == 0:
		return usageErrorf("init: %w", flagHint(err))
	case err != nil:
		return fmt.Errorf("init: %w", err)
	}
	for _, f := range wrote {
		fmt.Fprintln(ios.Out, filepath.Join(opts.Dir, f))
	}
	start := filepath.Join(opts.Dir, "start")
	if !strings.ContainsRune(start, filepath.Separator) {
		start = "." + string(filepath.Separator) + start
	}
	url := "http://127.0.0.1:8080"
	fmt.Fprintf(ios.Err, "espfctl: wrote a %s ESPF Application to %s (%d files; the credentials in config.json, mode 0600)\n", opts.Lang, opts.Dir, len(wrote))
	fmt.Fprintf(ios.Err, "  start it:  %s 8080\n", start)
	fmt.Fprintf(ios.Err, "  check it:  espfctl check --url %s/espf %s --strict --state-url '%s/state/{group}/{id}'\n", url, starter.Flags(cfg), url)
	l, _ := starter.Lookup(opts.Lang) // Write found it
	fmt.Fprintf(ios.Err, "  your code: %s\n", filepath.Join(opts.Dir, l.Edit))
	return nil
}
