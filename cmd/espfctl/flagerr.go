package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// unknownFlag matches pflag's "unknown flag: --rat".
var unknownFlag = regexp.MustCompile(`^unknown flag: --([^\s=]+)`)

// flagError is every command's flag-parsing error: a usage error (exit 2)
// that, for a mistyped flag, names the nearest flag the command has and
// where its flags are listed:
// "unknown flag --rat; did you mean --rate? (espfctl send --help)".
func flagError(cmd *cobra.Command, err error) error {
	m := unknownFlag.FindStringSubmatch(err.Error())
	if m == nil {
		return &usageError{fmt.Errorf("%w (%s --help)", err, cmd.CommandPath())}
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	cmd.InheritedFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	if s := suggestFlag(m[1], names); s != "" {
		return usageErrorf("unknown flag --%s; did you mean --%s? (%s --help)", m[1], s, cmd.CommandPath())
	}
	return usageErrorf("unknown flag --%s (%s --help)", m[1], cmd.CommandPath())
}

// suggestFlag is the flag name nearest to name, if it is close enough to
// be a typo: a prefix of exactly one flag ("--ra" → "--rate"), or at most
// a third of its letters (at least one) away in edit distance.
func suggestFlag(name string, names []string) string {
	var prefixed []string
	for _, n := range names {
		if strings.HasPrefix(n, name) {
			prefixed = append(prefixed, n)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	best, bestD := "", max(1, len(name)/3)+1
	for _, n := range names {
		if d := term.EditDistance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}
