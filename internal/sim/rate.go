// Package sim sends ESPF events as PortaBilling does: open-loop pacing over
// a list of phases, the ESPF's reaction to every answer (deliver, drop,
// re-send), and a record of every attempt. It never prints: every attempt
// and the progress go to the one Sink it is given.
package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a number of events per period: "10" and "10/s" are 10 per second,
// "50/1s" 50 per second, "600/1m" 600 per minute. It is a pflag.Value, and
// the scenario YAML's rate: uses the same parser.
type Rate struct {
	Freq int
	Per  time.Duration
}

// DefaultRate is what PortaBilling documents: about 10 events per second.
var DefaultRate = Rate{Freq: 10, Per: time.Second}

// ParseRate parses "N", "N/unit" or "N/duration".
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	num, per, hasPer := strings.Cut(s, "/")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 {
		return Rate{}, fmt.Errorf("rate %q: want N or N/duration, e.g. 10, 10/s, 50/1s, 600/1m", s)
	}
	r := Rate{Freq: n, Per: time.Second}
	if hasPer {
		per = strings.TrimSpace(per)
		switch per {
		case "s", "sec", "second":
			r.Per = time.Second
		case "m", "min", "minute":
			r.Per = time.Minute
		case "h", "hour":
			r.Per = time.Hour
		case "ms":
			r.Per = time.Millisecond
		default:
			d, err := time.ParseDuration(per)
			if err != nil || d <= 0 {
				return Rate{}, fmt.Errorf("rate %q: period %q: want a positive duration such as 1s or 1m", s, per)
			}
			r.Per = d
		}
	}
	return r, nil
}

// PerSecond is the rate in events per second (0 for the zero Rate).
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return 0
	}
	return float64(r.Freq) / r.Per.Seconds()
}

// IsZero reports whether the rate was never set.
func (r Rate) IsZero() bool { return r.Freq == 0 && r.Per == 0 }

// String renders the rate so that ParseRate reads it back.
func (r Rate) String() string {
	if r.IsZero() {
		return ""
	}
	if r.Per == time.Second {
		return strconv.Itoa(r.Freq) + "/s"
	}
	return strconv.Itoa(r.Freq) + "/" + r.Per.String()
}

// Set implements pflag.Value.
func (r *Rate) Set(s string) error {
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Type implements pflag.Value.
func (r *Rate) Type() string { return "rate" }

// MarshalText and UnmarshalText let JSON and YAML carry a Rate as "10/s".
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Rate) UnmarshalText(b []byte) error { return r.Set(string(b)) }
