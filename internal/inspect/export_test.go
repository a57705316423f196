package inspect

// SetStreamBuffer changes how many commits a live list buffers, for the
// tests of a browser that falls behind.
func (ui *UI) SetStreamBuffer(n int) { ui.buffer = n }
