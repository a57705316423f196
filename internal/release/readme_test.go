package release

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReleaseREADMEStartsFromTheBinary: the README an archive carries
// starts from the unpacked binary, never from a checkout (go run, go test,
// .ci/), and its links to the repository's files point at the release's
// tag, since the archive holds no docs/.
func TestReleaseREADMEStartsFromTheBinary(t *testing.T) {
	repo, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	got := string(ReleaseREADME(repo, "v1.2.3"))
	if first := strings.Index(got, "```"); first < 0 || !strings.HasPrefix(got[first:], "```sh\n./espfctl version") {
		t.Errorf("the first command block does not start with ./espfctl version:\n%s", got[:min(len(got), 2000)])
	}
	for _, bad := range []string{"go run", "go test", ".ci/", "go install"} {
		if strings.Contains(got, bad) {
			i := strings.Index(got, bad)
			t.Errorf("release README mentions %q: …%s…", bad, got[max(0, i-80):min(len(got), i+80)])
		}
	}
	if !strings.HasPrefix(got, "# espfctl\n") || !strings.Contains(got, "## A tour") {
		t.Errorf("release README lost the title or the tour")
	}
	for _, m := range regexp.MustCompile(`\]\(([^)#][^)]*)\)`).FindAllStringSubmatch(got, -1) {
		link := m[1]
		if !strings.HasPrefix(link, "https://") && !strings.HasPrefix(link, "scenarios/") {
			t.Errorf("link %q points at a file the archive does not hold", link)
		}
		if strings.HasPrefix(link, repoURL) && !strings.Contains(link, "/v1.2.3/") {
			t.Errorf("link %q is not at the release's tag", link)
		}
	}
}
