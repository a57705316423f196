package entity

import "fmt"

// FinalState is the outcome of the final-state check: after the drain,
// every entity whose events all finished delivered is read back from the
// Application and compared with its delivered events applied in i_event
// order.
type FinalState struct {
	Checked  int64 `json:"checked"`  // entities read back and compared
	Match    int64 `json:"match"`    // the Application shows the expected state
	Mismatch int64 `json:"mismatch"` // it does not
	Errors   int64 `json:"errors"`   // the state URL answered neither 200 {"exists": …} nor 404
	Unknown  int64 `json:"unknown"`  // an event still pending, given up or dropped: not compared
	// Mismatches lists the first mismatches and errors, in words.
	Mismatches []Mismatch `json:"mismatches"`
	Truncated  int64      `json:"truncated,omitempty"` // mismatches and errors not listed
}

// Mismatch is one entity whose final state is wrong, or could not be read.
type Mismatch struct {
	Entity   string `json:"entity"` // "subscriber/1000003"
	Expected State  `json:"expected"`
	Got      *State `json:"got,omitempty"`    // nil when the state could not be read
	Answer   string `json:"answer,omitempty"` // what the state URL answered when it was not usable
	Words    string `json:"words"`
}

// Share is the share of checked entities that match; ok is false when
// none was checked.
func (f *FinalState) Share() (share float64, ok bool) {
	if f == nil || f.Checked == 0 {
		return 0, false
	}
	return float64(f.Match) / float64(f.Checked), true
}

// Passed reports whether every checked entity matched.
func (f *FinalState) Passed() bool { return f == nil || (f.Mismatch == 0 && f.Errors == 0) }

// Failure says, in words, how many entities the Application holds wrong.
func (f *FinalState) Failure() string {
	msg := fmt.Sprintf("final state: %d of %d entities differ from their delivered events applied in i_event order", f.Mismatch, f.Checked)
	if f.Errors > 0 {
		msg += fmt.Sprintf(", %d could not be read", f.Errors)
	}
	return msg
}
