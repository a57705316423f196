package verify

// CutShort makes rc answer 200 early, for the load test's variants:
// after "body" (the header checks and the body read only) or after
// "checks" (every check and the decoding, but no journal).
func CutShort(rc *Receiver, after string) {
	rc.cut = map[string]cutPoint{"body": cutAfterBody, "checks": cutAfterChecks}[after]
}
