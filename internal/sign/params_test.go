package sign

// ParseParams is parseParams as a map, for the tests: `k1="v1",k2="v2"` in
// any order, with or without spaces around the commas. Values must be
// quoted strings (\-escapes allowed), as PortaBilling writes them. A
// parameter given twice is malformed.
func ParseParams(s string) (map[string]string, error) {
	var buf [8]param
	ps, err := parseParams(s, buf[:0])
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ps))
	for _, p := range ps {
		out[p.name] = p.val
	}
	return out, nil
}
