package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The documentation stays true to the command tree: every command has its
// page in docs/, every flag is named on its command's page, and the README
// stays short and points at the references.

const (
	docsDir   = "../../docs"
	readme    = "../../README.md"
	maxReadme = 400
)

func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEveryCommandHasAPage: each command of the root has docs/<command>.md,
// and every flag of the command (and of its subcommands, e.g. sign basic)
// is named there as --flag-name. The root's persistent flags are named in
// the README.
func TestEveryCommandHasAPage(t *testing.T) {
	t.Parallel()
	ios, _, _ := testutil.IO()
	root := newRootCmd(ios)
	cmds := root.Commands()
	if len(cmds) == 0 {
		t.Fatal("the root has no commands")
	}
	for _, c := range cmds {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		page := filepath.Join(docsDir, c.Name()+".md")
		b, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("espfctl %s has no page: %v", c.Name(), err)
			continue
		}
		text := string(b)
		var walk func(c *cobra.Command)
		walk = func(c *cobra.Command) {
			c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
				if f.Name == "help" {
					return
				}
				if !strings.Contains(text, "--"+f.Name) {
					t.Errorf("%s: the flag --%s of %q is not named", page, f.Name, c.CommandPath())
				}
			})
			for _, sub := range c.Commands() {
				walk(sub)
			}
		}
		walk(c)
	}
	text := readDoc(t, readme)
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && !strings.Contains(text, "--"+f.Name) {
			t.Errorf("README.md: the global flag --%s is not named", f.Name)
		}
	})
}

// TestReadmeIsShortAndLinksTheReferences: README.md has at most 400 lines
// and links the contract, the JSON schema and every command's page.
func TestReadmeIsShortAndLinksTheReferences(t *testing.T) {
	t.Parallel()
	text := readDoc(t, readme)
	if n := strings.Count(text, "\n"); n > maxReadme {
		t.Errorf("README.md has %d lines, want at most %d: move reference material to docs/", n, maxReadme)
	}
	links := []string{"docs/contract.md", "docs/json.md"}
	ios, _, _ := testutil.IO()
	for _, c := range newRootCmd(ios).Commands() {
		if !c.Hidden && c.Name() != "help" {
			links = append(links, "docs/"+c.Name()+".md")
		}
	}
	for _, l := range links {
		if !strings.Contains(text, "]("+l) {
			t.Errorf("README.md does not link %s", l)
		}
	}
}

// TestDocsLinksResolve: every relative link between the docs points at a
// file that exists.
func TestDocsLinksResolve(t *testing.T) {
	t.Parallel()
	pages, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, readme)
	for _, p := range pages {
		text := readDoc(t, p)
		for rest := text; ; {
			i := strings.Index(rest, "](")
			if i < 0 {
				break
			}
			rest = rest[i+2:]
			j := strings.IndexAny(rest, ")#")
			if j < 0 {
				break
			}
			target := rest[:j]
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(p), target)); err != nil {
				t.Errorf("%s links %s, which does not exist", p, target)
			}
		}
	}
}
