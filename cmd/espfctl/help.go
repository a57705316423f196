package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/espfctl/espfctl/internal/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// A flag's group is the heading --help lists it under. It is set where
// the flag is defined, as the annotation groupKey (inGroup), or else taken
// from flagGroups by name; TestEveryFlagHasAGroup fails for a flag that has
// neither.
const groupKey = "espfctl_group"

// The groups, in the order --help lists them.
const (
	groupConnection  = "Connection"
	groupCredentials = "Credentials"
	groupEvents      = "Events"
	groupRate        = "Rate and schedule"
	groupRetries     = "Retries and duplicates"
	groupLifecycle   = "Lifecycle"
	groupAPI         = "API mock"
	groupFaults      = "Faults"
	groupForward     = "Forwarding"
	groupJournal     = "Journal"
	groupSelect      = "Selection"
	groupCases       = "Cases"
	groupDurability  = "Durability (restarts)"
	groupOutput      = "Output"
)

var groupOrder = []string{groupConnection, groupCredentials, groupEvents, groupRate, groupRetries, groupLifecycle,
	groupAPI, groupFaults, groupForward, groupJournal, groupSelect, groupCases, groupDurability, groupOutput}

// flagGroups is the group of the flags that are not defined in a group
// (inGroup), by name, or by "command/name" where a name means something
// else in that command. One flag name means one thing across commands.
var flagGroups = map[string]string{
	// send
	"rate": groupRate, "arrival": groupRate, "count": groupRate, "duration": groupRate, "max-in-flight": groupRate,
	"type": groupEvents, "mix": groupEvents, "ids": groupEvents, "allow-unknown-type": groupEvents, "list-types": groupEvents,
	"events": groupEvents, "renumber": groupEvents, "first-event": groupEvents, "seed": groupEvents,
	"max-attempts": groupRetries, "retry-interval": groupRetries, "retry-backoff": groupRetries, "retry-jitter": groupRetries,
	"drain": groupRetries, "duplicates": groupRetries, "duplicate-delay": groupRetries, "timeout": groupConnection,
	"restart-cmd": groupDurability, "restarts": groupDurability,
	"no-coalesce": groupRetries, "string-ids": groupEvents, "var": groupEvents,
	// serve
	"listen": groupConnection, "admin-listen": groupConnection, "path": groupConnection, "tls-cert": groupConnection,
	"tls-key": groupConnection, "tls-self-signed": groupConnection, "ca-out": groupConnection, "max-body": groupConnection,
	"max-conns": groupConnection, "grace": groupConnection, "ready-file": groupConnection,
	"no-auth": groupCredentials, "max-skew": groupCredentials, "serve/strict": groupCredentials,
	"delay": groupFaults, "fail-first": groupFaults, "fail-rate": groupFaults, "fail-status": groupFaults,
	"hang-rate": groupFaults, "reset-rate": groupFaults, "serve/seed": groupFaults,
	"forward-to": groupForward, "forward-ca-file": groupForward, "forward-insecure-skip-verify": groupForward, "forward-timeout": groupForward,
	"journal": groupJournal, "max-copies": groupJournal, "max-rejected": groupJournal,
	// check
	"only": groupCases, "list": groupCases, "soak": groupCases, "slow": groupCases, "check/copies": groupCases, "check/strict": groupCases,
	// journal
	"after": groupSelect, "since": groupSelect, "limit": groupSelect, "journal/type": groupSelect, "journal/entities": groupSelect,
	"journal/rejected": groupSelect, "journal/copies": groupSelect, "raw": groupOutput,
	// sign, verify
	"date": groupCredentials, "now": groupCredentials, "authorization": groupCredentials, "http": groupOutput,
	// output, everywhere
	"json": groupOutput, "junit": groupOutput, "html": groupOutput, "report-json": groupOutput, "results": groupOutput,
	"no-progress": groupOutput, "help": groupOutput, "color": groupOutput, "no-descriptions": groupOutput,
}

// inGroup puts the flags that define adds to f in group: a register
// function wraps its definitions in it.
func inGroup(f *pflag.FlagSet, group string, define func()) {
	before := map[string]bool{}
	f.VisitAll(func(fl *pflag.Flag) { before[fl.Name] = true })
	define()
	f.VisitAll(func(fl *pflag.Flag) {
		if !before[fl.Name] && fl.Annotations[groupKey] == nil {
			_ = f.SetAnnotation(fl.Name, groupKey, []string{group})
		}
	})
}

// flagGroup is fl's group in cmd, "" when it has none.
func flagGroup(cmd *cobra.Command, fl *pflag.Flag) string {
	if g := fl.Annotations[groupKey]; len(g) > 0 {
		return g[0]
	}
	if g, ok := flagGroups[cmd.Name()+"/"+fl.Name]; ok {
		return g
	}
	return flagGroups[fl.Name]
}

// helpWidth is the width --help wraps at: the terminal's, 80 when it is
// not a terminal.
func helpWidth(ios *term.IO) int {
	if ios.IsTTY && ios.Width > 0 {
		return ios.Width
	}
	return 80
}

// usage writes cmd's usage as cobra's default template does, but with its
// flags under their groups' headings and every line wrapped at width: a
// description under its flag, an example with a shell continuation.
func usage(w io.Writer, cmd *cobra.Command, width int) error {
	var b strings.Builder
	b.WriteString("Usage:\n")
	if cmd.Runnable() {
		b.WriteString(wrapText("  "+cmd.UseLine(), width, 4) + "\n")
	}
	if cmd.HasAvailableSubCommands() {
		b.WriteString("  " + cmd.CommandPath() + " [command]\n")
	}
	if len(cmd.Aliases) > 0 {
		b.WriteString("\nAliases:\n  " + cmd.NameAndAliases() + "\n")
	}
	if cmd.HasExample() {
		b.WriteString("\nExamples:\n" + wrapExamples(cmd.Example, width) + "\n")
	}
	if cmd.HasAvailableSubCommands() {
		b.WriteString("\nAvailable Commands:\n")
		pad := cmd.NamePadding()
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() || c.Name() == "help" {
				b.WriteString(wrapText(fmt.Sprintf("  %-*s %s", pad, c.Name(), c.Short), width, pad+3) + "\n")
			}
		}
	}
	if cmd.HasAvailableLocalFlags() {
		b.WriteString(groupedFlags(cmd, width))
	}
	if cmd.HasAvailableInheritedFlags() {
		b.WriteString("\nGlobal Flags:\n" + fitLines(cmd.InheritedFlags().FlagUsagesWrapped(width), width))
	}
	if cmd.HasAvailableSubCommands() {
		b.WriteString("\nUse \"" + cmd.CommandPath() + " [command] --help\" for more information about a command.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// groupedFlags is cmd's own flags under their groups' headings, in
// groupOrder; a command with few flags lists them under "Flags:" only.
func groupedFlags(cmd *cobra.Command, width int) string {
	local := cmd.LocalFlags()
	if n := countFlags(local); n <= 4 {
		return "\nFlags:\n" + fitLines(local.FlagUsagesWrapped(width), width)
	}
	sets := map[string]*pflag.FlagSet{}
	local.VisitAll(func(fl *pflag.Flag) {
		if fl.Hidden {
			return
		}
		g := flagGroup(cmd, fl)
		if g == "" {
			g = "Other"
		}
		if sets[g] == nil {
			sets[g] = pflag.NewFlagSet(g, pflag.ContinueOnError)
			sets[g].SortFlags = local.SortFlags
		}
		sets[g].AddFlag(fl)
	})
	var b strings.Builder
	for _, g := range append(groupOrder, "Other") {
		if fs := sets[g]; fs != nil {
			b.WriteString("\n" + g + " flags:\n" + fitLines(fs.FlagUsagesWrapped(width), width))
		}
	}
	return b.String()
}

func countFlags(fs *pflag.FlagSet) int {
	n := 0
	fs.VisitAll(func(fl *pflag.Flag) {
		if !fl.Hidden {
			n++
		}
	})
	return n
}

// fitLines wraps each line of text wider than width (pflag leaves a line
// with a long word, such as a URL, as it is) under its own indentation.
func fitLines(text string, width int) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if term.Width(l) > width {
			indent := len(l) - len(strings.TrimLeft(l, " "))
			if indent > width/2 { // a flag's description column
				indent = width / 2
			}
			lines[i] = wrapText(l, width, indent)
		}
	}
	return strings.Join(lines, "\n")
}

// fitWriter wraps each line written to it at width (80 when 0), going on
// under column 2: status lines on a terminal.
type fitWriter struct {
	w     io.Writer
	width int
}

func (f fitWriter) Write(p []byte) (int, error) {
	width := f.width
	if width <= 0 {
		width = 80
	}
	text := strings.TrimSuffix(string(p), "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = wrapText(l, width, 2)
	}
	out := strings.Join(lines, "\n")
	if strings.HasSuffix(string(p), "\n") {
		out += "\n"
	}
	if _, err := io.WriteString(f.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// help writes cmd's help: its long description, each line wrapped at
// width, then its usage.
func help(w io.Writer, cmd *cobra.Command, width int) error {
	text := strings.TrimRight(cmd.Long, " \n")
	if text == "" {
		text = cmd.Short
	}
	if _, err := io.WriteString(w, fitLines(text, width)+"\n\n"); err != nil {
		return err
	}
	return usage(w, cmd, width)
}

// wrapText wraps s at spaces to width columns, continuing under column
// indent; a word longer than a line stays whole.
func wrapText(s string, width, indent int) string {
	if term.Width(s) <= width {
		return s
	}
	rest := strings.TrimLeft(s, " ")
	lead := s[:len(s)-len(rest)]
	var b strings.Builder
	line := ""
	for _, word := range strings.Split(rest, " ") {
		switch {
		case line == "":
			line = lead + word
		case term.Width(line)+1+term.Width(word) <= width:
			line += " " + word
		default:
			b.WriteString(line + "\n")
			line = strings.Repeat(" ", indent) + word
		}
	}
	return b.String() + line
}

// wrapExamples wraps each example line longer than width at a space
// outside quotes, with " \" and the continuation indented six columns, as
// a shell reads it.
func wrapExamples(ex string, width int) string {
	var out []string
	// A command already continued with " \" is joined first, then wrapped
	// whole.
	ex = regexp.MustCompile(` \\\n\s+`).ReplaceAllString(ex, " ")
	for _, l := range strings.Split(ex, "\n") {
		for term.Width(l) > width {
			cut := breakAt(l, width-2)
			if cut <= 0 {
				cut = breakAt(l, len(l)) // a quoted word wider than a line: it goes on a line of its own
				if first := firstBreak(l); first > 0 {
					cut = first
				}
			}
			if cut <= 0 {
				break
			}
			out = append(out, l[:cut]+" \\")
			l = "      " + strings.TrimLeft(l[cut:], " ")
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// firstBreak is the first space outside quotes past the line's
// indentation; -1 when there is none.
func firstBreak(l string) int {
	quote := byte(0)
	lead := len(l) - len(strings.TrimLeft(l, " "))
	for i := lead; i < len(l); i++ {
		switch c := l[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == ' ':
			return i
		}
	}
	return -1
}

// breakAt is the last space before column max that is outside quotes and
// past the line's indentation; -1 when there is none.
func breakAt(l string, max int) int {
	last, quote := -1, byte(0)
	lead := len(l) - len(strings.TrimLeft(l, " "))
	for i := 0; i < len(l) && i <= max; i++ {
		switch c := l[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == ' ' && i > lead:
			last = i
		}
	}
	return last
}
