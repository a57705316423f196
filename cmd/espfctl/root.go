package main

import (
	"fmt"
	"strings"

	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
)

func newRootCmd(ios *term.IO) *cobra.Command {
	var color string
	root := &cobra.Command{
		Use:   "espfctl",
		Short: "Test kit for PortaBilling ESPF integrations",
		Long: `espfctl tests the Application that receives PortaBilling's ESPF provisioning
events: it computes and explains Authorization headers for the four schemes
(basic, custom, signature, bearer), sends events as the ESPF does, runs a
reference Application, grades a live Application against the ESPF contract
(check), and runs scenario files whose expectations fail a CI build.

Exit codes: 0 ok, 1 a check failed, 2 usage error or invalid input,
3 could not run (I/O, network), 130 interrupted.`,
		Example: `  # the Signature header for PortaBilling's documented example
  espfctl sign signature --key-id test --key signature_key --date "Thu, 12 Apr 2018 15:24:00 GMT"

  # explain why a header does (not) verify
  espfctl verify --authorization "$H" --date "$D" --key-id test --key signature_key`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       versionString(),
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch color {
			case "auto", "always", "never":
				ios.SetColorMode(color)
			default:
				return usageErrorf("--color %q: want auto, always or never", color)
			}
			// cobra checks these after this hook and returns plain errors;
			// checking them here first makes them usage errors (exit 2).
			if err := cmd.ValidateRequiredFlags(); err != nil {
				return &usageError{err}
			}
			if err := cmd.ValidateFlagGroups(); err != nil {
				return &usageError{err}
			}
			return nil
		},
		// Set, so that cobra leaves an unknown command to wrapArgs' RunE (a
		// usage error) instead of returning a plain error itself.
		Args: cobra.ArbitraryArgs,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(ios.Out)
	root.SetErr(ios.Err)
	root.PersistentFlags().StringVar(&color, "color", "auto", "color output: auto (on a terminal, unless NO_COLOR is set), always or never")
	root.SetFlagErrorFunc(flagError)
	root.SetUsageFunc(func(cmd *cobra.Command) error { return usage(cmd.OutOrStderr(), cmd, helpWidth(ios)) })
	root.SetHelpFunc(func(cmd *cobra.Command, _ []string) { _ = help(cmd.OutOrStdout(), cmd, helpWidth(ios)) })
	root.AddCommand(
		newSignCmd(ios, nil),
		newVerifyCmd(ios, nil),
		newRunCmd(ios, nil),
		newValidateCmd(ios, nil),
		newServeCmd(ios, nil),
		newJournalCmd(ios, nil),
		newSendCmd(ios, nil),
		newCheckCmd(ios, nil),
		newReportCmd(ios, nil),
		newInitCmd(ios, nil),
		newVersionCmd(ios),
	)
	wrapArgs(root)
	registerCompletions(root)
	return root
}

// wrapArgs makes every command's argument-count errors usage errors (exit 2).
func wrapArgs(c *cobra.Command) {
	if c.Args != nil {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return &usageError{err}
			}
			return nil
		}
	}
	if c.HasSubCommands() && c.RunE == nil && c.Run == nil {
		// A bare group command ("espfctl sign") prints its help and exits 2.
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				cmd.SuggestionsMinimumDistance = 2
				if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
					return usageErrorf("unknown command %q for %q; did you mean %s?", args[0], cmd.CommandPath(), strings.Join(s, " or "))
				}
				return usageErrorf("unknown command %q for %q; see %s --help", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Help()
			return usageErrorf("%s needs a subcommand", cmd.CommandPath())
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}

func newVersionCmd(ios *term.IO) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print espfctl's version and VCS revision",
		Args:    cobra.NoArgs,
		Example: "  espfctl version",
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(ios.Out, versionString())
			return err
		},
	}
}
