package scenario

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
	"gopkg.in/yaml.v3"
)

var authKeys = []string{"scheme", "user", "password", "name", "credentials", "key_id", "key", "i_env", "ttl", "header_name", "max_skew"}

// auth reads an auth block into a sign.Config and checks it with sign.New.
// Secret values are never quoted in messages.
func (d *decoder) auth(n *yaml.Node, path string) *sign.Config {
	f := d.fields(n, path, authKeys...)
	before := len(d.errs)
	cfg := sign.Config{MaxSkew: sign.DefaultMaxSkew}
	if x := f["scheme"]; x != nil {
		cfg.Scheme = d.oneOf(x, path+".scheme", sign.Schemes...)
	} else {
		d.errorf(n, "%s: missing key \"scheme\"; expected one of %s", path, strings.Join(sign.Schemes, ", "))
		return nil
	}
	allowed := map[string][]string{
		sign.SchemeBasic:     {"user", "password"},
		sign.SchemeCustom:    {"name", "credentials"},
		sign.SchemeSignature: {"key_id", "key"},
		sign.SchemeBearer:    {"key", "i_env", "ttl"},
	}[cfg.Scheme]
	for _, k := range []string{"user", "password", "name", "credentials", "key_id", "key", "i_env", "ttl"} {
		x := f[k]
		if x == nil || cfg.Scheme == "" {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			d.errorf(x, "%s.%s does not apply to the %s scheme; it takes %s", path, k, cfg.Scheme, strings.Join(allowed, ", "))
			continue
		}
		switch k {
		case "user":
			cfg.Users = d.strs(x, path+".user", true)
		case "password":
			cfg.Passwords = d.strs(x, path+".password", true)
		case "name":
			cfg.Name = d.str(x, path+".name", true)
		case "credentials":
			cfg.Credentials = d.strs(x, path+".credentials", true)
		case "key_id":
			cfg.KeyIDs = d.strs(x, path+".key_id", true)
		case "key":
			cfg.Keys = d.strs(x, path+".key", true)
		case "i_env":
			v := d.integer(x, path+".i_env", 0, 1<<53)
			cfg.IEnv = &v
		case "ttl":
			cfg.TTL = d.duration(x, path+".ttl")
		}
	}
	if x := f["header_name"]; x != nil {
		cfg.HeaderName = d.str(x, path+".header_name", false)
	}
	if x := f["max_skew"]; x != nil {
		cfg.MaxSkew = d.duration(x, path+".max_skew")
	}
	if len(d.errs) > before || cfg.Scheme == "" {
		return nil
	}
	if _, err := sign.New(cfg); err != nil {
		d.errorf(n, "%s: %v", path, err)
		return nil
	}
	return &cfg
}

func (d *decoder) events(n *yaml.Node, dir string) Events {
	ev := Events{FirstEvent: 1}
	if n == nil {
		ev.Types = []string{"Subscriber/Created"}
		return ev
	}
	f := d.fields(n, "events", "types", "mix", "list", "file", "first_event", "ids", "string_ids", "allow_unknown_types")
	if x := f["allow_unknown_types"]; x != nil {
		ev.AllowUnknown = d.boolean(x, "events.allow_unknown_types")
	}
	var sources []string
	for _, k := range []string{"types", "mix", "list", "file"} {
		if f[k] != nil {
			sources = append(sources, k)
		}
	}
	if len(sources) > 1 {
		d.errorf(f[sources[1]], "events: %s and %s exclude each other; give one source of events", sources[0], sources[1])
	}
	if x := f["types"]; x != nil {
		for i, t := range d.list(x, "events.types") {
			name := d.str(t, fmt.Sprintf("events.types[%d]", i), false)
			d.eventType(t, name, ev.AllowUnknown)
			ev.Types = append(ev.Types, name)
		}
		if len(ev.Types) == 0 {
			d.errorf(x, "events.types: the list is empty")
		}
	}
	if x := f["mix"]; x != nil {
		if x.Kind != yaml.MappingNode || len(x.Content) == 0 {
			d.errorf(x, "events.mix: want a mapping of event type to weight, e.g. {Subscriber/Created: 5, Customer/Updated: 1}")
		} else {
			for i := 0; i+1 < len(x.Content); i += 2 {
				k, v := x.Content[i], x.Content[i+1]
				d.eventType(k, k.Value, ev.AllowUnknown)
				w := d.integer(v, "events.mix."+k.Value, 1, 1_000_000)
				ev.Mix = append(ev.Mix, Weighted{Type: k.Value, Weight: int(w)})
			}
		}
	}
	if x := f["list"]; x != nil {
		for i, item := range d.list(x, "events.list") {
			p := fmt.Sprintf("events.list[%d]", i)
			fi := d.fields(item, p, "event_type", "variables")
			var re RawEvent
			if t := fi["event_type"]; t != nil {
				re.Type = d.str(t, p+".event_type", false)
				d.eventType(t, re.Type, ev.AllowUnknown)
			} else {
				d.errorf(item, "%s: missing key \"event_type\"", p)
			}
			if v := fi["variables"]; v != nil {
				if err := v.Decode(&re.Variables); err != nil || v.Kind != yaml.MappingNode {
					d.errorf(v, "%s.variables: want a mapping of variable to value", p)
				}
			}
			ev.List = append(ev.List, re)
		}
	}
	if x := f["file"]; x != nil {
		ev.File = d.str(x, "events.file", true)
		if ev.File != "" && !filepath.IsAbs(ev.File) {
			ev.File = filepath.Join(dir, ev.File)
		}
	}
	if len(sources) == 0 {
		ev.Types = []string{"Subscriber/Created"}
	}
	if x := f["first_event"]; x != nil {
		ev.FirstEvent = d.integer(x, "events.first_event", 0, 1<<62)
	}
	if x := f["ids"]; x != nil {
		if d.scalar(x, "events.ids", "a range such as 1000-1999") {
			r, err := parseIDRange(x.Value)
			if err != nil {
				d.errorf(x, "events.ids: %v", err)
			}
			ev.IDs = r
		}
	}
	if x := f["string_ids"]; x != nil {
		ev.StringIDs = d.boolean(x, "events.string_ids")
	}
	return ev
}

func parseIDRange(s string) (IDRange, error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "-")
	lo, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	if err != nil || lo < 0 {
		return IDRange{}, fmt.Errorf("%q: want an id or a range such as 1000-1999", s)
	}
	hi := lo
	if isRange {
		if hi, err = strconv.ParseInt(strings.TrimSpace(b), 10, 64); err != nil || hi < lo {
			return IDRange{}, fmt.Errorf("%q: want a range such as 1000-1999, low to high", s)
		}
	}
	return IDRange{Min: lo, Max: hi}, nil
}

// eventType checks a type against the embedded catalog.
func (d *decoder) eventType(n *yaml.Node, name string, allowUnknown bool) {
	if name == "" || allowUnknown {
		return
	}
	if _, ok := event.Default().Lookup(name); ok {
		return
	}
	hint := ""
	if c := closest(name, event.Default().Names()); c != "" {
		hint = fmt.Sprintf("; did you mean %q?", c)
	} else if s := event.Default().Suggest(name); len(s) > 0 {
		hint = "; did you mean " + strings.Join(s, " or ") + "?"
	}
	d.errorf(n, "unknown event type %q (not in the ESPF catalog; set events.allow_unknown_types: true to send it anyway)%s", name, hint)
}

func (d *decoder) phases(n *yaml.Node) []Phase {
	items := d.list(n, "phases")
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		d.errorf(n, "phases: the list is empty; add at least one {rate, duration or count}")
	}
	var out []Phase
	for i, item := range items {
		p := fmt.Sprintf("phases[%d]", i)
		f := d.fields(item, p, "name", "rate", "arrival", "duration", "count")
		ph := Phase{Name: fmt.Sprintf("phase %d", i+1), Arrival: "constant"}
		if x := f["name"]; x != nil {
			ph.Name = d.str(x, p+".name", false)
		}
		if x := f["rate"]; x != nil {
			ph.Rate = d.rate(x, p+".rate")
		} else {
			d.errorf(item, "%s: missing key \"rate\", e.g. rate: 10/s", p)
		}
		if x := f["arrival"]; x != nil {
			ph.Arrival = d.oneOf(x, p+".arrival", "constant", "poisson")
		}
		dur, cnt := f["duration"], f["count"]
		switch {
		case dur != nil && cnt != nil:
			d.errorf(cnt, "%s: duration and count exclude each other; give one", p)
		case dur == nil && cnt == nil:
			d.errorf(item, "%s: give a duration (e.g. 30s) or a count (e.g. 300)", p)
		case dur != nil:
			if ph.Duration = d.duration(dur, p+".duration"); ph.Duration == 0 {
				d.errorf(dur, "%s.duration: must be more than 0", p)
			}
		default:
			ph.Count = int(d.integer(cnt, p+".count", 1, 100_000_000))
		}
		out = append(out, ph)
	}
	return out
}

func (d *decoder) delivery(n *yaml.Node) Delivery {
	f := d.fields(n, "delivery", "timeout", "retry_interval", "backoff", "jitter", "max_attempts", "max_in_flight", "duplicates", "drain", "headers")
	var dl Delivery
	if x := f["timeout"]; x != nil {
		dl.Timeout = d.duration(x, "delivery.timeout")
	}
	if x := f["retry_interval"]; x != nil {
		dl.RetryInterval = d.duration(x, "delivery.retry_interval")
	}
	if x := f["backoff"]; x != nil {
		dl.Backoff = d.oneOf(x, "delivery.backoff", "fixed", "exponential")
	}
	if x := f["jitter"]; x != nil {
		dl.Jitter = d.fraction(x, "delivery.jitter")
	}
	if x := f["max_attempts"]; x != nil {
		dl.MaxAttempts = int(d.integer(x, "delivery.max_attempts", 1, 1000))
	}
	if x := f["max_in_flight"]; x != nil {
		dl.MaxInFlight = int(d.integer(x, "delivery.max_in_flight", 1, 1_000_000))
	}
	if x := f["duplicates"]; x != nil {
		dl.Duplicates = d.fraction(x, "delivery.duplicates")
	}
	if x := f["drain"]; x != nil {
		dl.Drain = d.duration(x, "delivery.drain")
	}
	if x := f["headers"]; x != nil {
		dl.Headers = map[string]string{}
		if x.Kind != yaml.MappingNode {
			d.errorf(x, "delivery.headers: want a mapping of header name to value")
		}
		for i := 0; x.Kind == yaml.MappingNode && i+1 < len(x.Content); i += 2 {
			dl.Headers[x.Content[i].Value] = d.str(x.Content[i+1], "delivery.headers."+x.Content[i].Value, true)
		}
	}
	return dl
}

func (d *decoder) api(n *yaml.Node) *API {
	f := d.fields(n, "api", "listen", "token", "wait")
	a := &API{Listen: "127.0.0.1:0", Wait: 5 * time.Second}
	if x := f["listen"]; x != nil {
		a.Listen = d.str(x, "api.listen", true)
	}
	if x := f["token"]; x != nil {
		a.Token = d.str(x, "api.token", true)
	}
	if x := f["wait"]; x != nil {
		a.Wait = d.duration(x, "api.wait")
	}
	return a
}

func (d *decoder) statusReport(n *yaml.Node) *StatusReport {
	f := d.fields(n, "receiver.report_status", "status", "group", "delay")
	r := &StatusReport{Status: "OK"}
	if x := f["status"]; x != nil {
		r.Status = d.oneOf(x, "receiver.report_status.status", "OK", "IN_PROGRESS", "RETRY", "FAILED")
	}
	if x := f["group"]; x != nil {
		r.Group = d.str(x, "receiver.report_status.group", false)
	} else {
		d.errorf(n, "receiver.report_status: missing key \"group\": the service group, e.g. HSS, PCRF, VoIP")
	}
	if x := f["delay"]; x != nil {
		r.Delay = d.duration(x, "receiver.report_status.delay")
	}
	return r
}

func (d *decoder) expect(n *yaml.Node, s *Scenario) []Expectation {
	f := d.fields(n, "expect", metricKeys()...)
	var out []Expectation
	// keep the file's order
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		x, ok := f[k.Value]
		if !ok || x != deref(n.Content[i+1]) {
			continue
		}
		m, _ := lookupMetric(k.Value)
		if !d.scalar(x, "expect."+m.Key, "a bound such as \"100%\", 0 or \"< 500ms\"") {
			continue
		}
		op, v, err := parseBound(m, x.Value)
		if err != nil {
			d.errorf(x, "expect.%s: %v", m.Key, err)
			continue
		}
		switch {
		case m.Needs == "receiver" && s.Target != nil:
			d.errorf(k, "expect.%s is measured by the built-in receiver, which does not run with a target", m.Key)
		case m.Needs == "api" && s.API == nil:
			d.errorf(k, "expect.%s needs the ESPF API mock: add an api: section", m.Key)
		}
		out = append(out, Expectation{Metric: m, Op: op, Value: v, Text: x.Value, Line: k.Line, Col: k.Column})
	}
	return out
}

func (d *decoder) report(n *yaml.Node) Report {
	f := d.fields(n, "report", "json", "junit", "html", "results")
	var r Report
	for k, dst := range map[string]*string{"json": &r.JSON, "junit": &r.JUnit, "html": &r.HTML, "results": &r.Results} {
		if x := f[k]; x != nil {
			*dst = d.str(x, "report."+k, true)
		}
	}
	return r
}
