package main

import "testing"

// Bad input exits 2 before anything is built.
func TestUsageErrorsExit2(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  string
	}{
		{"no version", nil, ""},
		{"two versions", []string{"v1.2.3", "v1.2.4"}, ""},
		{"not a version", []string{"1.2.3"}, ""},
		{"unknown target", []string{"-targets", "plan9/amd64", "v1.2.3"}, ""},
		{"unknown flag", []string{"-sign", "v1.2.3"}, ""},
		{"bad SOURCE_DATE_EPOCH", []string{"-dist", t.TempDir(), "v1.2.3"}, "yesterday"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", tc.env)
			if got := run(tc.args); got != 2 {
				t.Errorf("exit %d, want 2", got)
			}
		})
	}
}
