package report

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/verify"
)

// Delivery writes one tab-separated line per delivery: time, i_event,
// event type, entity, auth result, answer, first/dup marker, handling time,
// then the fault, reason and catalog flags when there are any.
func Delivery(w io.Writer, d verify.Delivery, pal term.Palette) error {
	id, typ, ent := "-", dash(d.Type), dash(d.Entity)
	if d.IEvent != nil {
		id = strconv.FormatInt(*d.IEvent, 10)
	}
	status := "none"
	if d.Status != 0 {
		status = strconv.Itoa(d.Status)
	}
	switch espf.Consequence(d.Status, d.Status == 0) {
	case espf.Delivered:
		status = pal.Good(status)
	case espf.Dropped:
		status = pal.Bad(status)
	default:
		status = pal.Warn(status)
	}
	auth := d.Auth
	if auth == verify.AuthFailed {
		auth = pal.Bad(auth)
	}
	mark := "-"
	switch {
	case d.Duplicate:
		mark = pal.Warn("dup")
	case d.Status == http.StatusOK:
		mark = "first"
	}
	var notes []string
	if d.Fault != "" {
		notes = append(notes, "fault="+d.Fault)
	}
	if d.Reason != "" && d.Status != http.StatusOK {
		notes = append(notes, d.Reason)
	}
	notes = append(notes, d.Flags...)
	line := strings.Join([]string{d.Time.UTC().Format(time.RFC3339), id, typ, ent, auth, status, mark,
		strconv.FormatFloat(d.HandlingMS, 'f', 2, 64) + "ms"}, "\t")
	if len(notes) > 0 {
		line += "\t" + pal.Warn(strings.Join(notes, "; "))
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// Events writes journal events as a table: aligned on a terminal (pad),
// else plain tab-separated lines.
func Events(w io.Writer, evs []verify.Event, pad bool) error {
	tw := term.NewTable(w, pad, term.Palette{})
	if pad {
		tw.Row("I_EVENT", "EVENT_TYPE", "DELIVERIES", "FIRST_DELIVERY", "LAST_DELIVERY", "AUTH", "VARIABLES")
	}
	for _, e := range evs {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", e.IEvent, e.Type, e.Deliveries,
			e.FirstDelivery.Format(time.RFC3339), e.LastDelivery.Format(time.RFC3339), e.AuthScheme, e.Variables)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
