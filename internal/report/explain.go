// Package report renders results for people (text, styled on a terminal)
// and machines (JSON).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/espfctl/espfctl/internal/sign"
)

// Paint styles text; pass the identity function for plain output.
type Paint func(lipgloss.Style, string) string

// Explain writes a human explanation of a verification result.
func Explain(w io.Writer, r *sign.Result, now time.Time, paint Paint, base lipgloss.Style) {
	ok := base.Foreground(lipgloss.Color("2")).Bold(true)
	bad := base.Foreground(lipgloss.Color("1")).Bold(true)
	dim := base.Faint(true)
	if r.Valid {
		fmt.Fprintf(w, "%s %s header in %s\n", paint(ok, "valid"), r.Scheme, r.Header)
	} else {
		fmt.Fprintf(w, "%s %s header in %s: %s\n", paint(bad, "invalid"), r.Scheme, r.Header, r.Reason)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range r.Checks {
		mark := paint(ok, "ok")
		if !c.OK {
			mark = paint(bad, "FAIL")
		}
		var parts []string
		if c.Got != "" {
			parts = append(parts, c.Got)
		}
		if !c.OK && c.Expected != "" {
			parts = append(parts, "expected "+c.Expected)
		}
		if c.OK && c.Detail != "" {
			parts = append(parts, paint(dim, "("+c.Detail+")"))
		}
		if len(parts) == 0 { // no trailing cell: tabwriter would pad it with spaces
			fmt.Fprintf(tw, "  %s\t%s\n", mark, c.Name)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", mark, c.Name, strings.Join(parts, "  "))
	}
	tw.Flush()
	if r.SigningString != nil {
		fmt.Fprintf(w, "  signing string: %q\n", *r.SigningString)
	}
	if r.SkewSeconds != nil {
		fmt.Fprintf(w, "  date skew: %+.3fs (now %s)\n", *r.SkewSeconds, now.UTC().Format(time.RFC3339))
	}
	if r.TokenHeader != nil {
		fmt.Fprintf(w, "  token header: %s\n", compactJSON(r.TokenHeader))
	}
	if r.TokenClaims != nil {
		fmt.Fprintf(w, "  token claims: %s\n", compactJSON(r.TokenClaims))
	}
	if len(r.ClaimTimes) > 0 {
		names := make([]string, 0, len(r.ClaimTimes))
		for k := range r.ClaimTimes {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(w, "  %s: %s\n", k, r.ClaimTimes[k])
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
