package scenario

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/espfapi"
	"github.com/espfctl/espfctl/internal/event"
	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/sim"
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
	ev := Events{Gen: event.GenConfig{FirstEvent: 1}}
	f := d.fields(n, "events", "types", "mix", "list", "file", "lifecycle", "first_event", "ids", "string_ids", "allow_unknown_types", "renumber", "payload")
	if x := f["allow_unknown_types"]; x != nil {
		ev.AllowUnknown = d.boolean(x, "events.allow_unknown_types")
	}
	var sources []string
	for _, k := range []string{"types", "mix", "list", "file", "lifecycle"} {
		if f[k] != nil {
			sources = append(sources, k)
		}
	}
	if len(sources) > 1 {
		d.errorf(f[sources[1]], "events: %s and %s exclude each other; give one source of events", sources[0], sources[1])
	}
	if x := f["types"]; x != nil {
		ev.Gen.Types = d.eventTypes(x, ev.AllowUnknown)
	}
	if x := f["mix"]; x != nil {
		ev.Gen.Types = d.eventMix(x, ev.AllowUnknown)
	}
	if x := f["list"]; x != nil {
		ev.List = d.eventList(x, ev.AllowUnknown)
	}
	if x := f["file"]; x != nil {
		ev.File = d.str(x, "events.file", true)
		if ev.File != "" && !filepath.IsAbs(ev.File) {
			ev.File = filepath.Join(dir, ev.File)
		}
	}
	if x := f["lifecycle"]; x != nil {
		ev.Lifecycle = d.lifecycle(x)
	}
	if len(sources) == 0 {
		ev.Gen.Types = []event.Weighted{{Type: event.DefaultType, Weight: 1}}
	}
	if x := f["first_event"]; x != nil {
		ev.Gen.FirstEvent = d.integer(x, "events.first_event", 0, 1<<62)
	}
	if x := f["ids"]; x != nil && d.scalar(x, "events.ids", "a range such as 1000-1999") {
		lo, hi, err := parseIDRange(x.Value)
		if err != nil {
			d.errorf(x, "events.ids: %v", err)
		}
		ev.Gen.IDMin, ev.Gen.IDMax = lo, hi
	}
	if x := f["string_ids"]; x != nil {
		ev.Gen.StringIDs = d.boolean(x, "events.string_ids")
	}
	if x := f["payload"]; x != nil {
		p, err := event.ParsePayload(d.str(x, "events.payload", true))
		if err != nil {
			d.errorf(x, "events.%v", err)
		}
		ev.Gen.Payload = p
		if f["file"] != nil || f["list"] != nil {
			d.errorf(x, "events.payload shapes generated events: a file or a list is sent as written")
		}
	}
	if x := f["renumber"]; x != nil {
		ev.Renumber = d.boolean(x, "events.renumber")
		if f["file"] == nil {
			d.errorf(x, "events.renumber renumbers an events.file replay: give events.file")
		}
	}
	return ev
}

// eventTypes reads events.types: each type with a weight of 1.
func (d *decoder) eventTypes(x *yaml.Node, allowUnknown bool) []event.Weighted {
	var out []event.Weighted
	for i, t := range d.list(x, "events.types") {
		name := d.str(t, fmt.Sprintf("events.types[%d]", i), false)
		d.eventType(t, name, allowUnknown)
		out = append(out, event.Weighted{Type: name, Weight: 1})
	}
	if len(out) == 0 {
		d.errorf(x, "events.types: the list is empty")
	}
	return out
}

// eventMix reads events.mix, in the file's order.
func (d *decoder) eventMix(x *yaml.Node, allowUnknown bool) []event.Weighted {
	if x.Kind != yaml.MappingNode || len(x.Content) == 0 {
		d.errorf(x, "events.mix: want a mapping of event type to weight, e.g. {Subscriber/Created: 5, Customer/Updated: 1}")
		return nil
	}
	var out []event.Weighted
	for i := 0; i+1 < len(x.Content); i += 2 {
		k, v := x.Content[i], x.Content[i+1]
		d.eventType(k, k.Value, allowUnknown)
		w := d.integer(v, "events.mix."+k.Value, 1, 1_000_000)
		out = append(out, event.Weighted{Type: k.Value, Weight: int(w)})
	}
	return out
}

// eventList reads events.list: explicit events, sent in order.
func (d *decoder) eventList(x *yaml.Node, allowUnknown bool) []RawEvent {
	var out []RawEvent
	for i, item := range d.list(x, "events.list") {
		p := fmt.Sprintf("events.list[%d]", i)
		fi := d.fields(item, p, "event_type", "variables")
		var re RawEvent
		if t := fi["event_type"]; t != nil {
			re.Type = d.str(t, p+".event_type", false)
			d.eventType(t, re.Type, allowUnknown)
		} else {
			d.errorf(item, "%s: missing key \"event_type\"", p)
		}
		if v := fi["variables"]; v != nil {
			if err := v.Decode(&re.Variables); err != nil || v.Kind != yaml.MappingNode {
				d.errorf(v, "%s.variables: want a mapping of variable to value", p)
			}
		}
		out = append(out, re)
	}
	return out
}

// parseIDRange reads "1000-1999" or a single id.
func parseIDRange(s string) (lo, hi int64, err error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "-")
	lo, err = strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	if err != nil || lo < 0 {
		return 0, 0, fmt.Errorf("%q: want an id or a range such as 1000-1999", s)
	}
	hi = lo
	if isRange {
		if hi, err = strconv.ParseInt(strings.TrimSpace(b), 10, 64); err != nil || hi < lo {
			return 0, 0, fmt.Errorf("%q: want a range such as 1000-1999, low to high", s)
		}
	}
	return lo, hi, nil
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

func (d *decoder) phases(n *yaml.Node) []sim.Phase {
	items := d.list(n, "phases")
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		d.errorf(n, "phases: the list is empty; add at least one {rate, duration or count}")
	}
	var out []sim.Phase
	for i, item := range items {
		out = append(out, d.phase(item, i))
	}
	return out
}

// phase reads one phase; sim.NewConfig checks it again, as it checks
// send's --rate, --arrival, --count and --duration.
func (d *decoder) phase(item *yaml.Node, i int) sim.Phase {
	p := fmt.Sprintf("phases[%d]", i)
	field := fmt.Sprintf("Phases[%d].", i)
	f := d.fields(item, p, "name", "rate", "arrival", "duration", "count")
	ph := sim.Phase{Name: fmt.Sprintf("phase %d", i+1), Arrival: sim.Constant}
	if x := f["name"]; x != nil {
		ph.Name = d.str(x, p+".name", false)
	}
	if x := d.setting(f, "rate", p, field+"Rate"); x != nil {
		ph.Rate = d.rate(x, p+".rate")
	} else {
		d.errorf(item, "%s: missing key \"rate\", e.g. rate: 10/s", p)
	}
	if x := d.setting(f, "arrival", p, field+"Arrival"); x != nil {
		ph.Arrival = sim.Arrival(d.oneOf(x, p+".arrival", string(sim.Constant), string(sim.Poisson)))
	}
	dur, cnt := d.setting(f, "duration", p, field+"Duration"), d.setting(f, "count", p, field+"Count")
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
		ph.Count = d.integer(cnt, p+".count", 1, 100_000_000)
	}
	return ph
}

// delivery reads the delivery: section over sim.DefaultDelivery, the
// defaults send's flags have; sim.NewConfig checks the result.
func (d *decoder) delivery(n *yaml.Node) sim.Delivery {
	f := d.fields(n, "delivery", "timeout", "retry_interval", "backoff", "jitter", "max_attempts", "max_in_flight", "duplicates", "drain", "headers", "coalesce")
	dl := sim.DefaultDelivery()
	const p = "delivery"
	if x := d.setting(f, "timeout", p, "Timeout"); x != nil {
		dl.Timeout = d.duration(x, "delivery.timeout")
	}
	if x := d.setting(f, "retry_interval", p, "Retry.Interval"); x != nil {
		dl.Retry.Interval = d.duration(x, "delivery.retry_interval")
	}
	if x := d.setting(f, "backoff", p, "Retry.Backoff"); x != nil {
		dl.Retry.Backoff = sim.Backoff(d.oneOf(x, "delivery.backoff", string(sim.Fixed), string(sim.Exponential)))
	}
	if x := d.setting(f, "jitter", p, "Retry.Jitter"); x != nil {
		dl.Retry.Jitter = d.fraction(x, "delivery.jitter")
	}
	if x := d.setting(f, "max_attempts", p, "Retry.MaxAttempts"); x != nil {
		dl.Retry.MaxAttempts = int(d.integer(x, "delivery.max_attempts", 1, 1000))
	}
	if x := d.setting(f, "max_in_flight", p, "MaxInFlight"); x != nil {
		dl.MaxInFlight = int(d.integer(x, "delivery.max_in_flight", 1, 1_000_000))
	}
	if x := d.setting(f, "duplicates", p, "Duplicates"); x != nil {
		dl.Duplicates = d.fraction(x, "delivery.duplicates")
	}
	if x := d.setting(f, "drain", p, "Drain"); x != nil {
		dl.Drain = d.duration(x, "delivery.drain")
	} else {
		dl.Drain = sim.DefaultDrainFor(dl.Retry) // unset: long enough for the retry policy as given
	}
	if x := f["headers"]; x != nil {
		dl.Headers = d.headers(x)
	}
	if x := f["coalesce"]; x != nil {
		dl.Coalesce = d.boolean(x, "delivery.coalesce")
	}
	return dl
}

func (d *decoder) headers(x *yaml.Node) http.Header {
	h := http.Header{}
	if x.Kind != yaml.MappingNode {
		d.errorf(x, "delivery.headers: want a mapping of header name to value")
		return h
	}
	for i := 0; i+1 < len(x.Content); i += 2 {
		h.Set(x.Content[i].Value, d.str(x.Content[i+1], "delivery.headers."+x.Content[i].Value, true))
	}
	return h
}

func (d *decoder) api(n *yaml.Node) *API {
	f := d.fields(n, "api", "listen", "token", "wait", "login", "password", "tls_self_signed", "ca_out", "tls_cert", "tls_key")
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
	if x := f["login"]; x != nil {
		a.Login = d.str(x, "api.login", true)
	}
	if x := f["password"]; x != nil {
		a.Password = d.str(x, "api.password", true)
	}
	if (a.Login == "") != (a.Password == "") {
		d.errorf(n, "api: login and password go together (what Session/login accepts)")
	}
	if x := f["tls_self_signed"]; x != nil {
		a.SelfSigned = d.boolean(x, "api.tls_self_signed")
	}
	for k, dst := range map[string]*string{"ca_out": &a.CAOut, "tls_cert": &a.CertFile, "tls_key": &a.KeyFile} {
		if x := f[k]; x != nil {
			*dst = d.str(x, "api."+k, true)
		}
	}
	sc := espfapi.ServerConfig{SelfSigned: a.SelfSigned, CAOut: a.CAOut, CertFile: a.CertFile, KeyFile: a.KeyFile}
	if err := sc.Check(); err != nil {
		d.errorf(n, "api: tls_self_signed, ca_out, tls_cert, tls_key: %v", err)
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
		case m.Needs == "state" && s.Target != nil && s.Target.StateURL == "":
			d.errorf(k, "expect.%s reads every entity back from the Application: add target.state_url (or remove target to use the built-in receiver)", m.Key)
		case m.Needs == "restart" && (s.Target == nil || s.Target.RestartCmd == ""):
			d.errorf(k, "expect.%s is measured across restarts of the Application: add target.restart_cmd and target.state_url", m.Key)
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

// lifecycle reads events.lifecycle: {groups, entities, updates, deleted,
// active}, the shape send --lifecycle gives with flags.
func (d *decoder) lifecycle(n *yaml.Node) *event.LifecycleConfig {
	f := d.fields(n, "events.lifecycle", "groups", "entities", "updates", "deleted", "active", "internal", "inherited")
	lc := &event.LifecycleConfig{Entities: 100, UpdatesMin: event.DefaultUpdatesMin, UpdatesMax: event.DefaultUpdatesMax,
		Deleted: event.DefaultDeleted, Active: event.DefaultActive, Internal: event.DefaultInternal, Inherited: event.DefaultInherited}
	if x := f["groups"]; x != nil {
		for i, g := range d.strs(x, "events.lifecycle.groups", false) {
			grp, err := entity.ParseGroup(g)
			if err != nil {
				d.errorf(d.list(x, "events.lifecycle.groups")[i], "events.lifecycle.groups: %v", err)
				continue
			}
			lc.Groups = append(lc.Groups, grp)
		}
	}
	if x := f["entities"]; x != nil {
		lc.Entities = d.integer(x, "events.lifecycle.entities", 1, 1<<40)
	}
	if x := f["updates"]; x != nil && d.scalar(x, "events.lifecycle.updates", "MIN-MAX such as 1-3, or N") {
		lo, hi, err := event.ParseUpdates(x.Value)
		if err != nil {
			d.errorf(x, "events.lifecycle.updates: %v", err)
		}
		lc.UpdatesMin, lc.UpdatesMax = lo, hi
		if hi == 0 {
			lc.UpdatesMax = -1 // none at all
		}
	}
	if x := f["deleted"]; x != nil {
		if lc.Deleted = d.fraction(x, "events.lifecycle.deleted"); lc.Deleted == 0 {
			lc.Deleted = -1
		}
	}
	if x := f["active"]; x != nil {
		lc.Active = int(d.integer(x, "events.lifecycle.active", 1, 1_000_000))
	}
	for k, dst := range map[string]*float64{"internal": &lc.Internal, "inherited": &lc.Inherited} {
		if x := f[k]; x != nil {
			if *dst = d.fraction(x, "events.lifecycle."+k); *dst == 0 {
				*dst = -1 // none at all
			}
		}
	}
	hasInvoice, hasCustomer := false, len(lc.Groups) == 0
	for _, g := range lc.Groups {
		hasInvoice = hasInvoice || g == entity.Invoice
		hasCustomer = hasCustomer || g == entity.Customer
	}
	if hasInvoice && !hasCustomer {
		d.errorf(n, "events.lifecycle.groups: Invoice needs Customer: an invoice belongs to a customer created earlier in the stream")
	}
	return lc
}
