package journal

// HeadersText is Headers.text, for the tests.
func HeadersText(h Headers) any { return h.text() }
