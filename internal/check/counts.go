package check

import "fmt"

// Counts tallies the grades of a run.
type Counts struct {
	Pass int `json:"pass"`
	Warn int `json:"warn"`
	Fail int `json:"fail"`
	Skip int `json:"skip"`
}

// Count tallies rs.
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
