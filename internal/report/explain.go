// Package report renders results for people (text, styled on a terminal)
// and machines (JSON).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/term"
)

// Explain writes a human explanation of a verification result; its checks
// are always aligned. What came from the header (a key id, a user name, a
// claim, the reason that quotes them) is escaped.
func Explain(w io.Writer, r *sign.Result, now time.Time, pal term.Palette) {
	if r.Valid {
		fmt.Fprintf(w, "%s %s header in %s\n", pal.Good("valid"), esc(r.Scheme), esc(r.Header))
	} else {
		fmt.Fprintf(w, "%s %s header in %s: %s\n", pal.Bad("invalid"), esc(r.Scheme), esc(r.Header), esc(r.Reason))
	}
	tw := term.NewTable(w, true, pal)
	for _, c := range r.Checks {
		mark := pal.Good("ok")
		if !c.OK {
			mark = pal.Bad("FAIL")
		}
		var parts []string
		if c.Got != "" {
			parts = append(parts, esc(c.Got))
		}
		if !c.OK && c.Expected != "" {
			parts = append(parts, "expected "+esc(c.Expected))
		}
		if c.OK && c.Detail != "" {
			parts = append(parts, pal.Dim("("+esc(c.Detail)+")"))
		}
		if len(parts) == 0 { // no trailing cell: the table would pad it with spaces
			fmt.Fprintf(tw, "  %s\t%s\n", mark, esc(c.Name))
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", mark, esc(c.Name), strings.Join(parts, "  "))
	}
	_ = tw.Flush()
	if r.SigningString != nil {
		fmt.Fprintf(w, "  signing string: %q\n", *r.SigningString)
	}
	if r.SkewSeconds != nil {
		fmt.Fprintf(w, "  date skew: %+.3fs (now %s)\n", *r.SkewSeconds, now.UTC().Format(time.RFC3339))
	}
	if r.TokenHeader != nil {
		fmt.Fprintf(w, "  token header: %s\n", esc(compactJSON(r.TokenHeader)))
	}
	if r.TokenClaims != nil {
		fmt.Fprintf(w, "  token claims: %s\n", esc(compactJSON(r.TokenClaims)))
	}
	if len(r.ClaimTimes) > 0 {
		names := make([]string, 0, len(r.ClaimTimes))
		for k := range r.ClaimTimes {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(w, "  %s: %s\n", esc(k), esc(r.ClaimTimes[k]))
		}
		fmt.Fprintf(w, "  now: %s\n", now.UTC().Format(time.RFC3339))
	}
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
