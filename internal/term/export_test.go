package term

// Align lays out text of tab-separated lines as an aligned table, as Table
// does with no width: for the tests. Text after the last newline is laid
// out as a line of its own.
func Align(text string) string { return alignFit(text, 0) }
