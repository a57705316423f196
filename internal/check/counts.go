package check

import "fmt"

// Counts tallies the grades of a run.
type Counts struct {
	Pass int `json:"pass"`
	Warn int `json:"warn"`
	Fail int `json:"fail"`
	Skip int `json:"skip"`
}

// Count tallies the grades of rs.
func Count(rs []Result) Counts {
	var c Counts
	for _, r := range rs {
		switch r.Grade {
		case Pass:
			c.Pass++
		case Warn:
			c.Warn++
		case Fail:
			c.Fail++
		case Skip:
			c.Skip++
		}
	}
	return c
}

func (c Counts) String() string {
	return fmt.Sprintf("%d passed, %d warned, %d failed, %d skipped", c.Pass, c.Warn, c.Fail, c.Skip)
}

// SectionCount is the tally of one section's cases.
type SectionCount struct {
	Section string `json:"section"`
	Title   string `json:"title"`
	Counts
}

// BySection tallies rs per section, in the order of Sections; sections
// without a result are left out.
func BySection(rs []Result) []SectionCount {
	var out []SectionCount
	for _, s := range Sections() {
		var in []Result
		for _, r := range rs {
			if r.Section == s.ID {
				in = append(in, r)
			}
		}
		if len(in) > 0 {
			out = append(out, SectionCount{Section: s.ID, Title: s.Title, Counts: Count(in)})
		}
	}
	return out
}
