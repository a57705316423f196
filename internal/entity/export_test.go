package entity

// CoalescedTypes lists the coalesced types, for the tests.
func CoalescedTypes() []string {
	out := make([]string, 0, len(coalesced))
	for t := range coalesced {
		out = append(out, t)
	}
	return out
}
