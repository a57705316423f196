package check

import (
	"context"
	"fmt"
	"strings"
)

// Case is one conformance case. Its ID is its section of contract.md, a
// slash and a name: 1/over-1mib, 3.bearer/alg-none. The JSON names are a
// stable interface (check --list --json).
type Case struct {
	ID      string `json:"id"`
	Section string `json:"section"`
	Scheme  string `json:"scheme,omitempty"` // runs only with this scheme; "" = with every scheme
	Sends   string `json:"sends"`
	Passes  string `json:"passes"`
	Why     string `json:"why"`

	run func(ctx context.Context, r *runner) (verdict, error)
	// transport: the case sends no event (a TLS handshake at most). gate:
	// its first request is a valid Subscriber/Created with the configured
	// credentials, whose answer decides whether the run goes on (Run).
	transport, gate bool
}

// Name is the part of the ID after the section.
func (c Case) Name() string { return strings.TrimPrefix(c.ID, c.Section+"/") }

func (c Case) result() Result {
	return Result{ID: c.ID, Section: c.Section, Name: c.Name(), Sends: c.Sends, Expect: c.Passes}
}

// Section is a section of contract.md that cases belong to.
type Section struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Sections lists the sections in the order their cases run.
func Sections() []Section {
	return []Section{
		{"1", "The delivery request"},
		{"2", "What the ESPF does with the answer"},
		{"3.basic", "Authorization: Basic"},
		{"3.custom", "Authorization: Custom"},
		{"3.signature", "Authorization: Signature"},
		{"3.bearer", "Authorization: Bearer"},
		{"7", "Entity lifecycles and the order of deliveries"},
		{payloadSection, "What newer releases put on the wire"},
		{stateSection, "Entity lifecycles: the final state (--state-url)"},
	}
}

// SectionTitle is the title of section id, or "" when there is none.
func SectionTitle(id string) string {
	for _, s := range Sections() {
		if s.ID == id {
			return s.Title
		}
	}
	return ""
}

// Cases lists every case, in the order they run.
func Cases() []Case {
	var out []Case
	out = append(out, requestCases()...)
	out = append(out, answerCases()...)
	out = append(out, authCases()...)
	out = append(out, orderCases()...)
	out = append(out, payloadCases()...)
	out = append(out, stateCases()...)
	out = append(out, restartCases()...) // last: it restarts the Application
	return out
}

// Select picks the cases that args name, in running order. An argument is
// a case ID (3.bearer/alg-none), the start of one (1/tls-), a section
// (3.bearer) or a section prefix (3 = every authorization section). Cases
// for another scheme than scheme are left out, unless their ID or exact
// section is named (then they are reported as skipped). No arguments
// selects every case for scheme; an argument that matches nothing is an
// error. An empty scheme keeps every scheme's cases (check --list).
func Select(all []Case, scheme string, args []string) ([]Case, error) {
	var args2 []string
	for _, a := range args {
		for _, p := range strings.Split(a, ",") {
			if p = strings.TrimSpace(p); p != "" {
				args2 = append(args2, p)
			}
		}
	}
	forScheme := func(c Case) bool { return scheme == "" || c.Scheme == "" || c.Scheme == scheme }
	if len(args2) == 0 {
		var out []Case
		for _, c := range all {
			if forScheme(c) {
				out = append(out, c)
			}
		}
		return out, nil
	}
	picked := make([]bool, len(all))
	for _, a := range args2 {
		found := false
		for i, c := range all {
			exact := c.ID == a || c.Section == a
			prefix := strings.HasPrefix(c.Section, a+".") || (strings.Contains(a, "/") && strings.HasPrefix(c.ID, a))
			if exact || (prefix && forScheme(c)) {
				picked[i], found = true, true
			} else if prefix {
				found = true // a case of another scheme: named by prefix only, so left out
			}
		}
		if !found {
			return nil, fmt.Errorf("no case matches %q: want a case ID such as 3.bearer/alg-none, or a section such as %s (see check --list)", a, strings.Join(sectionIDs(), ", "))
		}
	}
	var out []Case
	for i, c := range all {
		if picked[i] {
			out = append(out, c)
		}
	}
	return out, nil
}

func sectionIDs() []string {
	var ids []string
	for _, s := range Sections() {
		ids = append(ids, s.ID)
	}
	return ids
}

// IDs lists the IDs of cs.
func IDs(cs []Case) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
