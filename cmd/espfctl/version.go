package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set by the release build (.ci/release) with
// -ldflags "-X main.version=v1.2.3"; it wins over the module version that
// go install records, which is "(devel)" for a build from a checkout.
var version string

// commit and commitTime are set by the release build with -ldflags -X: it
// builds with -buildvcs=false, so that the builder's go env cannot change
// the binary, and names the commit itself. A go build from a checkout
// records the revision in its build info instead.
var commit, commitTime string

// versionString is "espfctl VERSION (REVISION[, modified], TIME) GOVERSION".
func versionString() string {
	v, rev, when, dirty := version, "", "", false
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if rev == "" {
		rev, when = commit, commitTime
	}
	out := "espfctl " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += ", modified"
		}
		if when != "" {
			rev += ", " + when
		}
		out += " (" + rev + ")"
	}
	return fmt.Sprintf("%s %s %s/%s", out, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
