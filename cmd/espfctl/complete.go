package main

import (
	"strings"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/spf13/cobra"
)

// flagValues are the values shell completion offers for a flag, wherever
// a command defines it.
func flagValues() map[string]func() []string {
	return map[string]func() []string{
		"auth":          func() []string { return sign.Schemes },
		"arrival":       func() []string { return []string{string(sim.Constant), string(sim.Poisson)} },
		"retry-backoff": func() []string { return []string{string(sim.Fixed), string(sim.Exponential)} },
		"type":          func() []string { return event.Default().Names() },
		"color":         func() []string { return []string{"auto", "always", "never"} },
		"only":          checkSelectors,
		"groups":        func() []string { return []string{"Subscriber", "Customer", "Invoice", "DID"} },
	}
}

// registerCompletions adds value completion to every flag of flagValues in
// the command tree, and scenario files to run and validate.
func registerCompletions(root *cobra.Command) {
	values := flagValues()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, list := range values {
			if c.Flags().Lookup(name) == nil {
				continue
			}
			_ = c.RegisterFlagCompletionFunc(name, func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
				var out []string
				for _, v := range list() {
					if strings.HasPrefix(v, prefix) {
						out = append(out, v)
					}
				}
				return out, cobra.ShellCompDirectiveNoFileComp
			})
		}
		switch c.Name() {
		case "run", "validate":
			c.ValidArgsFunction = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// checkSelectors are what check's --only and arguments take: section IDs
// and case IDs.
func checkSelectors() []string {
	var out []string
	for _, s := range check.Sections() {
		out = append(out, s.ID)
	}
	return append(out, check.IDs(check.Cases())...)
}
