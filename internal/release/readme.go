package release

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// repoURL is where the repository's docs are, for the links of a release
// README (the archive holds no docs/ directory).
const repoURL = "https://github.com/espfctl/espfctl"

// dropSections are the repository README's sections a release README
// leaves out: they start from a checkout (go run, .ci/run, go test) or
// explain how to get what the archive already is.
var dropSections = map[string]bool{"Two commands": true, "Install": true, "Tests": true}

// relLink matches a Markdown link to a file of the repository: docs/…,
// deploy/…, BENCHMARKS.md, SECURITY.md…, not scenarios/ (in the archive),
// not a URL or an anchor.
var relLink = regexp.MustCompile(`\]\(((?:docs|deploy)/[^)\s]*|[A-Z][A-Z_]*\.md[^)\s]*)\)`)

// ReleaseREADME is the README an archive carries: the repository's
// introduction, then first steps from the unpacked binary (not `go run`),
// then the repository README's sections that apply to an installed
// espfctl, with links to the repository's docs at the release's tag.
func ReleaseREADME(repo []byte, version string) []byte {
	text := strings.ReplaceAll(string(repo), "\r\n", "\n")
	parts := strings.Split(text, "\n## ")
	var b strings.Builder
	b.WriteString(strings.TrimRight(parts[0], "\n") + "\n\n")
	fmt.Fprintf(&b, `## First steps

This archive is espfctl %[1]s: the static binary `+"`espfctl`"+` (`+"`espfctl.exe`"+` on
Windows), this README, the LICENSE and the example scenarios. From the
directory it unpacked into:

`+"```sh"+`
./espfctl version                              # espfctl %[1]s (…)
./espfctl run scenarios/quickstart.yaml        # sender + built-in receiver, about 20 s
sudo install espfctl /usr/local/bin/           # then plain: espfctl …
`+"```"+`

Every command's reference is at %[2]s/tree/%[1]s/docs.

`, version, repoURL)
	for _, p := range parts[1:] {
		title, _, _ := strings.Cut(p, "\n")
		if dropSections[strings.TrimSpace(title)] {
			continue
		}
		b.WriteString("## " + strings.TrimRight(p, "\n") + "\n\n")
	}
	out := relLink.ReplaceAllString(strings.TrimRight(b.String(), "\n")+"\n", "]("+repoURL+"/blob/"+version+"/$1)")
	return bytes.ReplaceAll([]byte(out), []byte("go run ./cmd/espfctl "), []byte("espfctl "))
}
