// Package release builds espfctl's release artifacts: static binaries for
// every supported platform packed with the README and LICENSE, a
// sha256sum-compatible checksums file and a container image tarball built
// without a Docker daemon. .ci/release drives it through tools/release.
//
// Nothing in cmd/espfctl imports this package, so the container-image
// libraries it uses never reach the espfctl binary.
package release

import (
	"fmt"
	"regexp"
	"strings"
)

// Target is one platform a release ships a binary for.
type Target struct {
	OS, Arch string
}

// Targets are the platforms every release ships, in the order they are built.
var Targets = []Target{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// ImageTarget is the platform of the container image.
var ImageTarget = Target{"linux", "amd64"}

func (t Target) String() string { return t.OS + "/" + t.Arch }

// BinaryName is the executable's name inside the archive.
func (t Target) BinaryName() string {
	if t.OS == "windows" {
		return "espfctl.exe"
	}
	return "espfctl"
}

// ArchiveName is espfctl_VERSION_OS_ARCH.tar.gz, or .zip for windows.
func (t Target) ArchiveName(version string) string {
	ext := ".tar.gz"
	if t.OS == "windows" {
		ext = ".zip"
	}
	return t.Folder(version) + ext
}

// Folder is espfctl_VERSION_OS_ARCH, the one top-level directory an
// archive unpacks into.
func (t Target) Folder(version string) string {
	return "espfctl_" + version + "_" + t.OS + "_" + t.Arch
}

// ImageName is the file name of the container image tarball.
func ImageName(version string) string { return "espfctl_" + version + "_image.tar" }

// ParseTargets reads a comma-separated list of OS/ARCH pairs, each one of
// Targets.
func ParseTargets(s string) ([]Target, error) {
	var out []Target
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		found := false
		for _, t := range Targets {
			if t.String() == f {
				out, found = append(out, t), true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown target %q: want one of %s", f, targetList())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no targets in %q: want one or more of %s", s, targetList())
	}
	return out, nil
}

func targetList() string {
	names := make([]string, len(Targets))
	for i, t := range Targets {
		names[i] = t.String()
	}
	return strings.Join(names, ",")
}

var versionRE = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// CheckVersion accepts a semantic version with a leading v (v1.2.3,
// v1.2.3-rc.1), the form Go modules and Git tags use. It also has to be a
// valid container image tag, which a "+build" suffix is not, so that is
// refused.
func CheckVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf("version %q: want a semantic version with a leading v, e.g. v1.2.3 or v1.2.3-rc.1", v)
	}
	return nil
}
