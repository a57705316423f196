package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/spf13/cobra"
)

// shellWords splits a command line as sh would for the examples' needs:
// words, single and double quotes, and "|" between commands. Variables are
// kept as written.
func shellWords(line string) [][]string {
	var cmds [][]string
	var words []string
	var w strings.Builder
	inWord, quote := false, byte(0)
	flush := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				w.WriteByte(c)
			}
		case c == '#' && !inWord:
			i = len(line) // a comment runs to the end of the line
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			flush()
		case c == '|':
			flush()
			cmds = append(cmds, words)
			words = nil
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return append(cmds, words)
}

// examples are the command lines of a command's --help examples:
// continuation lines joined, comments and blank lines left out.
func examples(c *cobra.Command) []string {
	var out []string
	joined := strings.ReplaceAll(c.Example, "\\\n", " ")
	for _, l := range strings.Split(joined, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// TestHelpExamples: every --help example names espfctl commands and flags
// that exist, with as many arguments as the command takes; those that need
// nothing outside the repository (no server, no file of yours, no
// variable) are run and must exit 0.
func TestHelpExamples(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	ios, _, _ := testutil.IO()
	var all []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		all = append(all, c)
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRootCmd(ios))
	ran := 0
	for _, c := range all {
		for _, ex := range examples(c) {
			runnable := true
			var pipeline [][]string
			env := map[string]string{}
			for _, words := range shellWords(ex) {
				for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
					k, v, _ := strings.Cut(words[0], "=") // VAR=value before the command
					env[k] = v
					words = words[1:]
				}
				if len(words) == 0 || words[0] != "espfctl" {
					t.Errorf("%s: example %q runs %q, which is not espfctl", c.CommandPath(), ex, strings.Join(words, " "))
					continue
				}
				args := expand(words[1:])
				fresh := newRootCmd(ios)
				cmd, rest, err := fresh.Find(args)
				if err != nil || cmd == fresh && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
					t.Errorf("%s: example %q: no such command: %v", c.CommandPath(), ex, err)
					continue
				}
				if err := cmd.ParseFlags(rest); err != nil {
					t.Errorf("%s: example %q: %v", c.CommandPath(), ex, err)
					continue
				}
				if cmd.Args != nil {
					if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
						t.Errorf("%s: example %q: %v", c.CommandPath(), ex, err)
					}
				}
				switch cmd.Name() {
				case "sign", "basic", "custom", "signature", "bearer", "verify", "validate", "version":
				default:
					runnable = false // a server, an Application or a long run
				}
				for _, a := range args {
					if strings.Contains(a, "$") || strings.Contains(a, "…") || isFile(a) && !exists(a) {
						runnable = false
					}
				}
				pipeline = append(pipeline, args)
			}
			if !runnable || len(pipeline) == 0 {
				continue
			}
			for k, v := range env {
				t.Setenv(k, v)
			}
			var in []byte
			for _, args := range pipeline {
				io, out, errb := testutil.IO()
				io.In = bytes.NewReader(in)
				if code := run(context.Background(), args, io); code != 0 {
					t.Errorf("%s: example %q exits %d:\n%s", c.CommandPath(), ex, code, errb)
				}
				in = out.Bytes()
			}
			ran++
			for k := range env {
				os.Unsetenv(k)
			}
		}
	}
	if ran < 8 {
		t.Errorf("ran %d examples, expected the sign, verify, validate and version ones", ran)
	}
}

func isFile(a string) bool {
	for _, ext := range []string{".txt", ".yaml", ".db", ".jsonl", ".pem", ".xml", ".html"} {
		if strings.HasSuffix(a, ext) {
			return true
		}
	}
	return a == "pw" || a == "addr"
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// expand applies the shell's globbing to words with a *.
func expand(words []string) []string {
	var out []string
	for _, w := range words {
		if strings.Contains(w, "*") {
			if m, _ := filepath.Glob(w); len(m) > 0 {
				out = append(out, m...)
				continue
			}
		}
		out = append(out, w)
	}
	return out
}
