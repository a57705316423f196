package main

import (
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commands is every command of the tree under root.
func commands(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		out = append(out, commands(c)...)
	}
	return out
}

// TestEveryFlagHasAGroup: --help lists every flag under a heading; a flag
// defined without a group (inGroup) and not in flagGroups would land under
// "Other" and fails here.
func TestEveryFlagHasAGroup(t *testing.T) {
	ios, _, _ := testutil.IO()
	for _, c := range commands(newRootCmd(ios)) {
		c.InitDefaultHelpFlag()
		c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			if !fl.Hidden && flagGroup(c, fl) == "" {
				t.Errorf("%s --%s has no group: define it in inGroup(…) or add it to flagGroups", c.CommandPath(), fl.Name)
			}
		})
	}
}

// TestHelpFitsTheWidth: every command's --help wraps at 80 columns when
// stdout is not a terminal, and at the terminal's width when it is, with
// its flags under headings. Only a single word wider than a line (a quoted
// token in an example) may stick out.
func TestHelpFitsTheWidth(t *testing.T) {
	ios, _, _ := testutil.IO()
	var paths [][]string
	for _, c := range commands(newRootCmd(ios)) {
		if !c.Hidden {
			paths = append(paths, strings.Fields(c.CommandPath())[1:])
		}
	}
	for _, width := range []int{0, 120} {
		for _, p := range paths {
			ios, out, _ := testutil.IO()
			limit := 80
			if width > 0 {
				ios.IsTTY, ios.Width, limit = true, width, width
			}
			if code := run(t.Context(), append(p, "--help"), ios); code != exitOK {
				t.Fatalf("espfctl %s --help: exit %d", strings.Join(p, " "), code)
			}
			for _, l := range strings.Split(out.String(), "\n") {
				words := shellWords(strings.TrimSuffix(strings.TrimSpace(l), " \\"))
				one := len(words) == 1 && len(words[0]) == 1
				if term.Width(l) > limit && !one {
					t.Errorf("espfctl %s --help at width %d: a line of %d columns:\n%s", strings.Join(p, " "), width, term.Width(l), l)
				}
			}
			if len(p) == 1 && p[0] == "send" {
				for _, h := range []string{"Connection flags:", "Credentials flags:", "Rate and schedule flags:", "Retries and duplicates flags:", "Lifecycle flags:", "API mock flags:", "Output flags:"} {
					if !strings.Contains(out.String(), "\n"+h+"\n") {
						t.Errorf("send --help has no heading %q", h)
					}
				}
				wide := false
				for _, l := range strings.Split(out.String(), "\n") {
					wide = wide || term.Width(l) > 80
				}
				if wide != (width == 120) {
					t.Errorf("send --help at width %d: lines over 80 columns = %t, want %t (a wider terminal gets wider lines)", width, wide, width == 120)
				}
			}
		}
	}
}
