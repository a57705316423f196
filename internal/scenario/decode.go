package scenario

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/sim"
	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node tree strictly: every key must be known, every
// scalar of the right type, and every problem is recorded with its line and
// column so that one run reports them all.
type decoder struct {
	file     string
	errs     []error
	env      func(string) (string, bool)
	settings map[string]setting // by sim field name
}

func (d *decoder) errorf(n *yaml.Node, format string, a ...any) {
	e := &Error{File: d.file, Msg: fmt.Sprintf(format, a...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// fields checks that n is a mapping whose keys are all in allowed, and
// returns the value nodes by key. path names the mapping in messages.
func (d *decoder) fields(n *yaml.Node, path string, allowed ...string) map[string]*yaml.Node {
	n = deref(n)
	out := map[string]*yaml.Node{}
	if n == nil {
		return out
	}
	if n.Kind != yaml.MappingNode {
		if n.Tag == "!!null" {
			return out
		}
		d.errorf(n, "%s: want a mapping of keys (%s), got %s", path, strings.Join(allowed, ", "), describe(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		known := false
		for _, a := range allowed {
			if a == name {
				known = true
				break
			}
		}
		switch {
		case !known:
			hint := ""
			if c := closest(name, allowed); c != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", c)
			}
			d.errorf(k, "unknown key %q in %s%s; expected one of %s", name, path, hint, strings.Join(allowed, ", "))
		case out[name] != nil:
			d.errorf(k, "key %q given twice in %s", name, path)
		default:
			out[name] = deref(v)
		}
	}
	return out
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!null":
		return "nothing"
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	}
	return fmt.Sprintf("%q", n.Value)
}

func (d *decoder) scalar(n *yaml.Node, path, want string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "%s: want %s, got %s", path, want, describe(n))
		return false
	}
	return true
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// str reads a string. With expand, ${VAR} and ${VAR:-default} are replaced
// from the environment; an unset variable without a default is an error.
func (d *decoder) str(n *yaml.Node, path string, expand bool) string {
	if !d.scalar(n, path, "a string") {
		return ""
	}
	if !expand {
		return n.Value
	}
	return envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
		m := envRef.FindStringSubmatch(ref)
		if v, ok := d.env(m[1]); ok && v != "" {
			return v
		}
		if m[2] != "" {
			return m[3]
		}
		d.errorf(n, "%s: environment variable %s is not set", path, m[1])
		return ""
	})
}

func (d *decoder) boolean(n *yaml.Node, path string) bool {
	if !d.scalar(n, path, "true or false") {
		return false
	}
	var b bool
	if n.Tag != "!!bool" || n.Decode(&b) != nil {
		d.errorf(n, "%s: want true or false, got %s", path, describe(n))
	}
	return b
}

func (d *decoder) integer(n *yaml.Node, path string, lo, hi int64) int64 {
	if !d.scalar(n, path, "an integer") {
		return 0
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 10, 64)
	if err != nil || n.Tag == "!!str" {
		d.errorf(n, "%s: want an integer, got %s", path, describe(n))
		return 0
	}
	switch {
	case v < lo:
		d.errorf(n, "%s: %d is too small; want at least %d", path, v, lo)
	case v > hi:
		d.errorf(n, "%s: %d is too large; want at most %d", path, v, hi)
	}
	return v
}

// duration reads a Go duration ("300ms", "5s", "1m30s"); 0 needs no unit.
func (d *decoder) duration(n *yaml.Node, path string) time.Duration {
	if !d.scalar(n, path, "a duration such as 500ms or 5s") {
		return 0
	}
	if n.Value == "0" {
		return 0
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		d.errorf(n, "%s: %q is not a duration; want e.g. 500ms, 5s, 1m30s", path, n.Value)
		return 0
	}
	if v < 0 {
		d.errorf(n, "%s: %s must not be negative", path, n.Value)
	}
	return v
}

// fraction reads a probability or share: 0.25 or 25%.
func (d *decoder) fraction(n *yaml.Node, path string) float64 {
	if !d.scalar(n, path, "a fraction such as 0.1 or 10%") {
		return 0
	}
	v, err := parseFraction(n.Value)
	if err != nil {
		d.errorf(n, "%s: %v", path, err)
	}
	return v
}

func parseFraction(s string) (float64, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a fraction; want e.g. 0.1 or 10%%", s)
	}
	if pct {
		v /= 100
	}
	if v < 0 || v > 1 {
		return 0, fmt.Errorf("%q is not between 0 and 1 (0%% and 100%%)", s)
	}
	return v, nil
}

func (d *decoder) list(n *yaml.Node, path string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list, got %s", path, describe(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = deref(c)
	}
	return out
}

// strs reads a string or a list of strings.
func (d *decoder) strs(n *yaml.Node, path string, expand bool) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{d.str(n, path, expand)}
	}
	var out []string
	for i, c := range d.list(n, path) {
		out = append(out, d.str(c, fmt.Sprintf("%s[%d]", path, i), expand))
	}
	return out
}

func (d *decoder) oneOf(n *yaml.Node, path string, choices ...string) string {
	s := d.str(n, path, false)
	for _, c := range choices {
		if s == c {
			return s
		}
	}
	if s != "" || n.Kind == yaml.ScalarNode {
		d.errorf(n, "%s: unknown value %q; expected one of %s", path, s, strings.Join(choices, ", "))
	}
	return ""
}

func osEnv(k string) (string, bool) { return os.LookupEnv(k) }

// rate reads "N/duration" or "N" (per second) with sim.ParseRate, the
// parser --rate uses too.
func (d *decoder) rate(n *yaml.Node, path string) sim.Rate {
	if !d.scalar(n, path, "a rate such as 10/s or 50/1s") {
		return sim.Rate{}
	}
	r, err := sim.ParseRate(n.Value)
	switch {
	case err != nil:
		d.errorf(n, "%s: %v", path, err)
	case r.Freq == 0:
		d.errorf(n, "%s: %q sends nothing; want a positive rate such as 10/s", path, n.Value)
	}
	return r
}

// setting is a scenario key that sets a field of the engine's config
// (sim.Phase, sim.Delivery): its spelling and position, so that what
// sim.NewConfig rejects is reported at the key that set it.
type setting struct {
	path string
	node *yaml.Node
}

// setting returns f[key] and, when it is there, remembers it as the key
// that sets field (sim's name, e.g. "Retry.Jitter").
func (d *decoder) setting(f map[string]*yaml.Node, key, parent, field string) *yaml.Node {
	x := f[key]
	if x != nil {
		if d.settings == nil {
			d.settings = map[string]setting{}
		}
		d.settings[field] = setting{path: parent + "." + key, node: x}
	}
	return x
}

// engineErrors places what sim.NewConfig rejected at the keys that set it.
// A value the decoder already complained about is not reported twice, and
// a field no key set (a missing rate, say) is a consequence of an error
// already reported.
func (d *decoder) engineErrors(err error, root *yaml.Node) {
	for _, e := range sim.SettingErrors(err) {
		st, ok := d.settings[e.Field]
		switch {
		case ok && d.erredAt(st.node):
		case ok:
			d.errorf(st.node, "%s: %v", st.path, e.Err)
		case len(d.errs) == 0:
			d.errorf(root, "%s: %v", e.Field, e.Err)
		}
	}
}

// erredAt reports whether an error was already recorded at n's position.
func (d *decoder) erredAt(n *yaml.Node) bool {
	for _, err := range d.errs {
		if e, ok := err.(*Error); ok && e.Line == n.Line && e.Col == n.Column {
			return true
		}
	}
	return false
}
