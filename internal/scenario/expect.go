package scenario

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Kind is the unit of a measured value.
type Kind int

const (
	Share    Kind = iota // a fraction, written 99.5% or 0.995
	Count                // a whole number
	Duration             // a latency, written 500ms
)

// Metric is a value a run measures and an expectation may bound.
type Metric struct {
	Key       string
	Kind      Kind
	DefaultOp string // used when the expectation has no operator
	Help      string
	Needs     string // "receiver" (built-in receiver), "api" (ESPF API mock) or "state" (target.state_url or the built-in receiver) or "restart" (target.restart_cmd), if any
}

// Metrics lists every key that `expect:` accepts.
var Metrics = []Metric{
	{"delivered", Share, ">=", "share of events delivered (answered 200, after any retries)", ""},
	{"delivered_first_try", Share, ">=", "share of events delivered on their first attempt", ""},
	{"dropped", Count, "<=", "events dropped because the Application answered a 4xx", ""},
	{"gave_up", Count, "<=", "events that used every attempt without a 200", ""},
	{"pending", Count, "<=", "events still waiting to be re-sent when the drain ended", ""},
	{"duplicates_ok", Share, ">=", "share of duplicate deliveries answered 200", ""},
	{"error_rate", Share, "<=", "share of attempts not answered 200", ""},
	{"p50", Duration, "<=", "median latency from the intended send time", ""},
	{"p90", Duration, "<=", "90th percentile latency from the intended send time", ""},
	{"p99", Duration, "<=", "99th percentile latency from the intended send time", ""},
	{"p99.9", Duration, "<=", "99.9th percentile latency from the intended send time", ""},
	{"max", Duration, "<=", "largest latency from the intended send time", ""},
	{"time_to_delivery_p50", Duration, "<=", "median time to delivery: from an event's first intended send time to its 200, across re-sends (events still pending count with their age)", ""},
	{"time_to_delivery_p90", Duration, "<=", "90th percentile time to delivery", ""},
	{"time_to_delivery_p99", Duration, "<=", "99th percentile time to delivery", ""},
	{"time_to_delivery_max", Duration, "<=", "longest time to delivery", ""},
	{"rate_error", Share, "<=", "|achieved - target| / target send rate", ""},
	{"statuses", Share, ">=", "share of delivered accounts that reported a provisioning status to the ESPF API mock", "api"},
	{"processed_twice", Count, "<=", "events the built-in receiver processed (first-delivered) more than once", "receiver"},
	{"unjournaled", Count, "<=", "events answered 200 that the built-in receiver's journal does not hold", "receiver"},
	{"final_state", Share, ">=", "share of entities whose state, read back after the drain (target.state_url, or the built-in receiver's), matches their delivered events applied in i_event order", "state"},
	{"durability", Share, ">=", "share of events answered 200 that the Application neither lost across a restart nor applied twice (target.restart_cmd)", "restart"},
	{"reordered", Count, ">=", "events delivered after a later event of the same entity had been delivered (a lifecycle test means something only when the faults reorder)", ""},
	{"superseded", Count, "<=", "events superseded by a newer one of the same coalesced type and account or customer (never sent again)", ""},
}

func metricKeys() []string {
	out := make([]string, len(Metrics))
	for i, m := range Metrics {
		out[i] = m.Key
	}
	return out
}

func lookupMetric(key string) (Metric, bool) {
	for _, m := range Metrics {
		if m.Key == key {
			return m, true
		}
	}
	return Metric{}, false
}

// Expectation is one bound from `expect:`.
type Expectation struct {
	Metric    Metric
	Op        string  // <, <=, >, >=, ==
	Value     float64 // shares as fractions, counts, durations in seconds
	Text      string  // as written
	Line, Col int
}

func (e Expectation) String() string {
	return fmt.Sprintf("%s %s %s", e.Metric.Key, e.Op, e.Metric.format(e.Value))
}

// Outcome is an evaluated expectation.
type Outcome struct {
	Expectation Expectation
	Measured    bool    // false: the run could not measure it
	Actual      float64 // in the metric's unit
	Pass        bool
}

// ActualText renders the measured value.
func (o Outcome) ActualText() string {
	if !o.Measured {
		return "not measured"
	}
	return o.Expectation.Metric.format(o.Actual)
}

// Measured holds what a run measured, by metric key (durations in seconds).
type Measured map[string]float64

// Evaluate checks every expectation against m.
func Evaluate(exps []Expectation, m Measured) []Outcome {
	out := make([]Outcome, len(exps))
	for i, e := range exps {
		v, ok := m[e.Metric.Key]
		out[i] = Outcome{Expectation: e, Measured: ok, Actual: v, Pass: ok && compare(v, e.Op, e.Value)}
	}
	return out
}

func compare(v float64, op string, bound float64) bool {
	const eps = 1e-9
	switch op {
	case "<":
		return v < bound
	case "<=":
		return v <= bound+eps
	case ">":
		return v > bound
	case ">=":
		return v >= bound-eps
	case "==":
		return math.Abs(v-bound) <= eps
	}
	return false
}

func (m Metric) format(v float64) string {
	switch m.Kind {
	case Share:
		t := strings.TrimRight(strconv.FormatFloat(v*100, 'f', 3, 64), "0")
		return strings.TrimSuffix(t, ".") + "%"
	case Duration:
		return time.Duration(v * float64(time.Second)).Round(time.Microsecond).String()
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// parseBound reads "[op] value" for a metric, e.g. "100%", ">= 99.5%",
// "< 500ms", "0".
func parseBound(m Metric, s string) (op string, v float64, err error) {
	s = strings.TrimSpace(s)
	op = m.DefaultOp
	for _, o := range []string{"<=", ">=", "==", "<", ">"} {
		if strings.HasPrefix(s, o) {
			op, s = o, strings.TrimSpace(s[len(o):])
			break
		}
	}
	switch m.Kind {
	case Share:
		v, err = parseFraction(s)
	case Count:
		var n int64
		n, err = strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			err = fmt.Errorf("%q is not a count; want e.g. 0 or \"<= 3\"", s)
		}
		v = float64(n)
	case Duration:
		var d time.Duration
		d, err = time.ParseDuration(s)
		if err != nil || d < 0 {
			err = fmt.Errorf("%q is not a duration; want e.g. \"< 500ms\"", s)
		}
		v = d.Seconds()
	}
	return op, v, err
}
