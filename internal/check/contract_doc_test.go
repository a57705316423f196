package check_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/check"
)

// contractDoc is the contract in the project's words; its headings carry
// the section IDs that case IDs and the code cite.
const contractDoc = "../../docs/contract.md"

// contractSections reads the section ID that starts each heading of
// docs/contract.md: "## 3. The four…" is 3, "### 3.bearer Bearer" is
// 3.bearer.
func contractSections(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(contractDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := map[string]bool{}
	sc := bufio.NewScanner(f)
	fence := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			fence = !fence
		}
		if fence || !strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(strings.TrimLeft(line, "#"))
		if len(fields) > 0 {
			ids[strings.TrimSuffix(fields[0], ".")] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestEveryCaseSectionIsInContractDoc: every case's section (and every
// section the suite lists) is a heading of docs/contract.md, so a case ID
// such as 3.bearer/alg-none always points at text a user can read.
func TestEveryCaseSectionIsInContractDoc(t *testing.T) {
	t.Parallel()
	ids := contractSections(t)
	cases := check.Cases()
	if len(cases) == 0 {
		t.Fatal("check.Cases() is empty")
	}
	for _, c := range cases {
		if !ids[c.Section] {
			t.Errorf("case %s: section %s has no heading in %s", c.ID, c.Section, contractDoc)
		}
		if !strings.HasPrefix(c.ID, c.Section+"/") {
			t.Errorf("case %s: its ID does not start with its section %s", c.ID, c.Section)
		}
	}
	for _, s := range check.Sections() {
		if !ids[s.ID] {
			t.Errorf("section %s (%s) has no heading in %s", s.ID, s.Title, contractDoc)
		}
	}
}

// citation is a contract section cited in a comment or a message:
// "contract §7", "contract.md §3", "contract §1, §5".
var citation = regexp.MustCompile(`§(\d+(?:\.[a-z]+)?)`)

// TestCodeCitesExistingContractSections: every "§N" on a line of Go source
// that names the contract is a section of docs/contract.md.
func TestCodeCitesExistingContractSections(t *testing.T) {
	t.Parallel()
	ids := contractSections(t)
	seen := 0
	for _, root := range []string{"../../internal", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(b), "\n") {
				if !strings.Contains(line, "contract") {
					continue
				}
				for _, m := range citation.FindAllStringSubmatch(line, -1) {
					seen++
					if !ids[m[1]] {
						t.Errorf("%s:%d cites contract §%s, which has no heading in %s", path, i+1, m[1], contractDoc)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if seen == 0 {
		t.Error("found no contract citation in the source: is the pattern still right?")
	}
}
