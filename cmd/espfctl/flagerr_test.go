package main

import (
	"strings"
	"testing"
)

// TestMistypedFlagSuggests: a mistyped flag names the nearest flag of the
// command and where its flags are listed, and exits 2.
func TestMistypedFlagSuggests(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"one letter short", []string{"send", "--rat", "5"}, "espfctl: unknown flag --rat; did you mean --rate? (espfctl send --help)\n"},
		{"with a value", []string{"send", "--ratee=5"}, "espfctl: unknown flag --ratee; did you mean --rate? (espfctl send --help)\n"},
		{"serve", []string{"serve", "--listn", ":0"}, "espfctl: unknown flag --listn; did you mean --listen? (espfctl serve --help)\n"},
		{"an inherited flag", []string{"version", "--colr", "never"}, "espfctl: unknown flag --colr; did you mean --color? (espfctl version --help)\n"},
		{"a flag send does not have", []string{"send", "--target", "x"}, "espfctl: unknown flag --target (espfctl send --help)\n"},
		{"nothing near", []string{"send", "--zzzzzzzz"}, "espfctl: unknown flag --zzzzzzzz (espfctl send --help)\n"},
		{"missing value", []string{"send", "--rate"}, "espfctl: flag needs an argument: --rate (espfctl send --help)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, tc.args...)
			if code != exitUsage || out != "" || errOut != tc.want {
				t.Errorf("espfctl %s: exit %d, stdout %q, stderr %q; want exit %d, stderr %q",
					strings.Join(tc.args, " "), code, out, errOut, exitUsage, tc.want)
			}
		})
	}
}
