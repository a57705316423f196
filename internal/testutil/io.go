package testutil

import (
	"bytes"
	"strings"

	"github.com/espfctl/espfctl/internal/term"
)

// IO is a term.IO over buffers, not a terminal, without color, with an
// empty stdin; it returns the buffers that collect stdout and stderr.
func IO() (*term.IO, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &term.IO{In: strings.NewReader(""), Out: &out, Err: &errb}, &out, &errb
}
