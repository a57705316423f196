package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/espfctl/espfctl/internal/sim"
	"github.com/espfctl/espfctl/internal/verify"
	"gopkg.in/yaml.v3"
)

// Load reads and parses a scenario file.
func Load(path string) (*Scenario, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("read scenario: %v", errors.Unwrap(err))}
	}
	return Parse(path, src)
}

// Parse parses and validates a scenario. Every problem is reported, each as
// an *Error with file, line and column, joined with errors.Join.
func Parse(file string, src []byte) (*Scenario, error) {
	return parse(file, src, osEnv)
}

var topKeys = []string{"version", "name", "description", "target", "receiver", "auth", "events", "phases", "delivery", "api", "expect", "report"}

func parse(file string, src []byte, env func(string) (string, bool)) (*Scenario, error) {
	root, err := document(file, src)
	if err != nil {
		return nil, err
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: root.Line, Col: root.Column, Msg: "the scenario must be a mapping with version: 1, auth, phases and the rest; got " + describe(root)}
	}
	d := &decoder{file: file, env: env}
	s := d.scenario(root)
	if quoted := quoteErrors(file, src, root); len(quoted) > 0 {
		// The decoder's own complaint about a value that needs quoting
		// ("not a duration") is replaced by "quote it".
		at := map[int]bool{}
		for _, q := range quoted {
			at[q.(*Error).Line] = true
		}
		for _, e := range d.errs {
			if se, ok := e.(*Error); !ok || !at[se.Line] {
				quoted = append(quoted, e)
			}
		}
		return nil, errors.Join(quoted...)
	}
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return s, nil
}

// document is the one YAML document in src.
func document(file string, src []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Line: 1, Col: 1, Msg: "empty scenario: want a mapping with version: 1, phases and the rest"}
		}
		return nil, fromYAML(file, src, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fromYAML(file, src, err)
		}
		return nil, &Error{File: file, Line: extra.Line, Col: 1, Msg: "want exactly one YAML document; remove the second one (after ---)"}
	}
	return doc.Content[0], nil
}

// scenario decodes the top-level mapping, section by section.
func (d *decoder) scenario(root *yaml.Node) *Scenario {
	s := &Scenario{File: d.file, Delivery: sim.DefaultDelivery()}
	f := d.fields(root, "the scenario", topKeys...)
	if n := f["version"]; n == nil {
		d.errorf(root, "missing key \"version\"; add version: %d", Version)
	} else if v := d.integer(n, "version", 0, 1<<31); v != Version && v != 0 {
		d.errorf(n, "version %d is not supported; this espfctl reads version %d", v, Version)
	}
	if n := f["name"]; n != nil {
		s.Name = d.str(n, "name", false)
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(d.file), filepath.Ext(d.file))
	}
	if n := f["description"]; n != nil {
		s.Description = d.str(n, "description", false)
	}
	if n := f["target"]; n != nil {
		s.Target = d.target(n)
	}
	if n := f["auth"]; n != nil {
		if cfg := d.auth(n, "auth"); cfg != nil {
			s.Auth = *cfg
		}
	} else {
		d.errorf(root, "missing key \"auth\": the scheme and credentials the sender signs with")
	}
	if n := f["receiver"]; n != nil {
		if s.Target != nil {
			d.errorf(n, "receiver: configures the built-in receiver, which runs only when there is no target; remove one of them")
		}
		s.Receiver = d.receiver(n)
	}
	s.Events = d.events(f["events"], filepath.Dir(d.file))
	d.sending(s, f, root)
	if n := f["api"]; n != nil {
		s.API = d.api(n)
	}
	if s.Receiver.Report != nil && s.API == nil {
		d.errorf(f["receiver"], "receiver.report_status needs the ESPF API mock to report to: add an api: section")
	}
	if n := f["expect"]; n != nil {
		s.Expect = d.expect(n, s)
	}
	if n := f["report"]; n != nil {
		s.Report = d.report(n)
	}
	return s
}

// sending reads the phases and the delivery, and checks them with
// sim.NewConfig: the check send's flags go through.
func (d *decoder) sending(s *Scenario, f map[string]*yaml.Node, root *yaml.Node) {
	if n := f["phases"]; n != nil {
		s.Phases = d.phases(n)
	} else {
		d.errorf(root, "missing key \"phases\": a list of {rate, duration or count}")
	}
	if n := f["delivery"]; n != nil {
		s.Delivery = d.delivery(n)
	}
	_, err := sim.NewConfig(s.Phases, s.Delivery, 1)
	d.engineErrors(err, root)
}

func (d *decoder) target(n *yaml.Node) *Target {
	f := d.fields(n, "target", "url", "tls", "state_url", "http2", "restart_cmd", "restarts")
	t := &Target{}
	if u := f["url"]; u != nil {
		t.URL = d.str(u, "target.url", true)
		if t.URL != "" && !strings.HasPrefix(t.URL, "http://") && !strings.HasPrefix(t.URL, "https://") {
			d.errorf(u, "target.url %q: want an http:// or https:// URL", espf.RedactURL(t.URL))
		}
	} else {
		d.errorf(n, "target: missing key \"url\" (or remove target to use the built-in receiver)")
	}
	if x := f["state_url"]; x != nil {
		t.StateURL = d.str(x, "target.state_url", true)
		if err := sim.CheckStateURL(t.StateURL); err != nil {
			d.errorf(x, "target.state_url: %v", err)
		}
	}
	if x := f["http2"]; x != nil {
		t.HTTP2 = d.boolean(x, "target.http2")
	}
	d.restart(t, f, n)
	if tl := f["tls"]; tl != nil {
		tf := d.fields(tl, "target.tls", "ca_file", "cert_file", "key_file", "insecure_skip_verify")
		if x := tf["ca_file"]; x != nil {
			t.TLS.CAFile = d.str(x, "target.tls.ca_file", true)
		}
		if x := tf["cert_file"]; x != nil {
			t.TLS.CertFile = d.str(x, "target.tls.cert_file", true)
		}
		if x := tf["key_file"]; x != nil {
			t.TLS.KeyFile = d.str(x, "target.tls.key_file", true)
		}
		if x := tf["insecure_skip_verify"]; x != nil {
			t.TLS.InsecureSkipVerify = d.boolean(x, "target.tls.insecure_skip_verify")
		}
		if (t.TLS.CertFile == "") != (t.TLS.KeyFile == "") {
			d.errorf(tl, "target.tls: cert_file and key_file go together (a client certificate)")
		}
	}
	return t
}

func (d *decoder) receiver(n *yaml.Node) Receiver {
	f := d.fields(n, "receiver", "path", "auth", "no_auth", "strict", "journal", "faults", "report_status")
	var r Receiver
	if x := f["path"]; x != nil {
		r.Path = d.str(x, "receiver.path", false)
		if !strings.HasPrefix(r.Path, "/") {
			d.errorf(x, "receiver.path %q: want a path starting with /", r.Path)
		}
	}
	if x := f["auth"]; x != nil {
		r.Auth = d.auth(x, "receiver.auth")
	}
	if x := f["no_auth"]; x != nil {
		r.NoAuth = d.boolean(x, "receiver.no_auth")
		if r.NoAuth && r.Auth != nil {
			d.errorf(x, "receiver.no_auth: true contradicts receiver.auth; remove one")
		}
	}
	if x := f["strict"]; x != nil {
		r.Strict = d.boolean(x, "receiver.strict")
	}
	if x := f["journal"]; x != nil {
		r.Journal = d.str(x, "receiver.journal", true)
	}
	if x := f["faults"]; x != nil {
		r.Faults = d.faults(x)
	}
	if x := f["report_status"]; x != nil {
		r.Report = d.statusReport(x)
	}
	return r
}

// faults reads receiver.faults into the receiver's own verify.Faults, as
// serve's fault flags fill it, and checks it as serve does.
func (d *decoder) faults(n *yaml.Node) verify.Faults {
	f := d.fields(n, "receiver.faults", "fail_first", "fail_status", "fail_rate", "delay", "hang_rate", "reset_rate", "seed")
	before := len(d.errs)
	var ft verify.Faults
	if x := f["fail_first"]; x != nil {
		ft.FailFirst = int(d.integer(x, "receiver.faults.fail_first", 0, 1000))
	}
	if x := f["fail_status"]; x != nil {
		ft.FailStatus = int(d.integer(x, "receiver.faults.fail_status", 100, 599))
	}
	if x := f["fail_rate"]; x != nil {
		ft.FailRate = d.fraction(x, "receiver.faults.fail_rate")
	}
	if x := f["delay"]; x != nil && d.scalar(x, "receiver.faults.delay", "a duration or a range such as 10ms-200ms") {
		// the parser of serve's --delay; a file may space out the range
		if err := ft.Delay.Set(strings.ReplaceAll(x.Value, " ", "")); err != nil {
			d.errorf(x, "receiver.faults.delay: %v", err)
		}
	}
	if x := f["hang_rate"]; x != nil {
		ft.HangRate = d.fraction(x, "receiver.faults.hang_rate")
	}
	if x := f["reset_rate"]; x != nil {
		ft.ResetRate = d.fraction(x, "receiver.faults.reset_rate")
	}
	if x := f["seed"]; x != nil {
		ft.Seed = d.integer(x, "receiver.faults.seed", -1<<62, 1<<62)
	}
	if ft.FailRate+ft.HangRate+ft.ResetRate > 1 {
		d.errorf(n, "receiver.faults: fail_rate + hang_rate + reset_rate exceed 100%%")
	}
	if err := ft.Validate(); err != nil && len(d.errs) == before {
		d.errorf(n, "receiver.faults: %v", err)
	}
	return ft
}
