package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/espfctl/espfctl/internal/testutil"
	"gopkg.in/yaml.v3"
)

// The Kubernetes recipe in deploy/kubernetes, run on one machine: the serve
// Deployment's command line on 127.0.0.1, the send Job's command line once
// per completion index (in parallel, with Kubernetes' $(VAR) expansion and
// the index the Job controller would set), then the report Job's merge. The
// merged report must be the sum of the parts, and the parts' i_event ranges
// disjoint. Only --count and --rate are scaled down, so the test takes a
// second, not two minutes.

type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    int    `yaml:"completions"`
		Parallelism    int    `yaml:"parallelism"`
		Ports          []struct {
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
		Template struct {
			Spec struct {
				Containers []k8sContainer `yaml:"containers"`
				Volumes    []struct {
					Name string `yaml:"name"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

func readManifests(t *testing.T, file string) map[string]k8sObject {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "deploy", "kubernetes", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]k8sObject{}
	dec := yaml.NewDecoder(f)
	for {
		var o k8sObject
		if err := dec.Decode(&o); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out[o.Kind+"/"+o.Metadata.Name] = o
	}
}

func onlyContainer(t *testing.T, o k8sObject) k8sContainer {
	t.Helper()
	cs := o.Spec.Template.Spec.Containers
	if len(cs) != 1 || len(cs[0].Command) != 0 || cs[0].Image != "espfctl:VERSION" {
		t.Fatalf("%s/%s: want one container of the release image (espfctl:VERSION) using its entrypoint, got %+v", o.Kind, o.Metadata.Name, cs)
	}
	return cs[0]
}

var k8sVarRE = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// k8sCommand resolves a container's args as the kubelet does: env values
// ($(VAR) expanded from earlier entries), secrets and the completion-index
// field from the given maps, values overridden by override, $(VAR) in args
// expanded ($$ is a literal $); then mount paths are mapped to local
// directories. It returns the args and the environment.
func k8sCommand(t *testing.T, c k8sContainer, index int, secrets, override, mounts map[string]string) ([]string, []string) {
	t.Helper()
	vars := map[string]string{}
	expand := func(s string) string {
		out := k8sVarRE.ReplaceAllStringFunc(s, func(m string) string {
			if m == "$$" {
				return "$"
			}
			if v, ok := vars[m[2:len(m)-1]]; ok {
				return v
			}
			return m
		})
		if strings.Contains(out, "$(") {
			t.Fatalf("container %s: %q refers to an undefined variable", c.Name, s)
		}
		return out
	}
	var env []string
	for _, e := range c.Env {
		v := expand(e.Value)
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			s, ok := secrets[ref]
			if !ok {
				t.Fatalf("container %s: env %s from secret %s, which the test does not know", c.Name, e.Name, ref)
			}
			v = s
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			if e.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
				t.Fatalf("container %s: env %s from field %s", c.Name, e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
			v = strconv.Itoa(index)
		}
		if o, ok := override[e.Name]; ok {
			v = o
		}
		vars[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		a = expand(a)
		// A path argument, or a flag's value, on a mounted volume.
		prefix, value := "", a
		if strings.HasPrefix(a, "-") {
			if f, v, ok := strings.Cut(a, "="); ok {
				prefix, value = f+"=", v
			}
		}
		for _, m := range c.VolumeMounts {
			local, ok := mounts[m.Name]
			if !ok {
				t.Fatalf("container %s mounts %s, which the test does not map", c.Name, m.Name)
			}
			if rest, ok := strings.CutPrefix(value, m.MountPath+"/"); ok {
				value = filepath.Join(local, rest)
				break
			}
		}
		args[i] = prefix + value
	}
	return args, env
}

// setFlag replaces the value of --name=VALUE in args; the flag must be there.
func setFlag(t *testing.T, args []string, name, value string) []string {
	t.Helper()
	out := append([]string(nil), args...)
	for i, a := range out {
		if strings.HasPrefix(a, name+"=") {
			out[i] = name + "=" + value
			return out
		}
	}
	t.Fatalf("%q has no %s=…", args, name)
	return nil
}

func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

type reportTotals struct {
	Events   int `json:"events"`
	Attempts int `json:"attempts"`
	Outcomes struct {
		DeliveredFirstTry     int `json:"delivered_first_try"`
		DeliveredAfterRetries int `json:"delivered_after_retries"`
		Dropped4xx            int `json:"dropped_4xx"`
		GaveUp                int `json:"gave_up"`
		StillPending          int `json:"still_pending"`
	} `json:"outcomes"`
	ByAnswer map[string]int `json:"by_answer"`
	Latency  struct {
		Count int `json:"count"`
	} `json:"latency"`
}

func (a *reportTotals) add(b reportTotals) {
	a.Events += b.Events
	a.Attempts += b.Attempts
	a.Outcomes.DeliveredFirstTry += b.Outcomes.DeliveredFirstTry
	a.Outcomes.DeliveredAfterRetries += b.Outcomes.DeliveredAfterRetries
	a.Outcomes.Dropped4xx += b.Outcomes.Dropped4xx
	a.Outcomes.GaveUp += b.Outcomes.GaveUp
	a.Outcomes.StillPending += b.Outcomes.StillPending
	if a.ByAnswer == nil {
		a.ByAnswer = map[string]int{}
	}
	for k, v := range b.ByAnswer {
		a.ByAnswer[k] += v
	}
	a.Latency.Count += b.Latency.Count
}

func k8sReport(t *testing.T, bin string, args ...string) reportTotals {
	t.Helper()
	out, err := testutil.Command(t, bin, append(args, "--json")...).Output()
	if err != nil {
		t.Fatalf("espfctl %s --json: %v", strings.Join(args, " "), err)
	}
	var r reportTotals
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, out)
	}
	return r
}

func TestKubernetesRecipeLocally(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stops serve with SIGINT")
	}
	bin, err := exec.LookPath("espfctl") // this test binary, installed on PATH by testscript.Main
	if err != nil {
		t.Fatal(err)
	}
	serveObjs := readManifests(t, "serve.yaml")
	sendObjs := readManifests(t, "send-job.yaml")
	reportObjs := readManifests(t, "report-job.yaml")
	deploy, svc := serveObjs["Deployment/espfctl-serve"], serveObjs["Service/espfctl-serve"]
	job, merge := sendObjs["Job/espfctl-send"], reportObjs["Job/espfctl-report"]
	if _, ok := sendObjs["PersistentVolumeClaim/espfctl-results"]; !ok {
		t.Fatalf("send-job.yaml has no PersistentVolumeClaim espfctl-results")
	}
	if job.Spec.CompletionMode != "Indexed" || job.Spec.Completions < 2 || job.Spec.Parallelism != job.Spec.Completions {
		t.Fatalf("espfctl-send: completionMode %q completions %d parallelism %d, want an Indexed Job running all its pods at once",
			job.Spec.CompletionMode, job.Spec.Completions, job.Spec.Parallelism)
	}
	n := job.Spec.Completions
	secrets := map[string]string{"espfctl-auth/key": "k8s-test-key"}
	dir := t.TempDir()
	results, data := filepath.Join(dir, "results"), filepath.Join(dir, "data")
	for _, d := range []string{results, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mounts := map[string]string{"results": results, "data": data, "tmp": dir}

	// serve, as the Deployment runs it but on 127.0.0.1.
	sc := onlyContainer(t, deploy)
	serveArgs, serveEnv := k8sCommand(t, sc, 0, secrets, nil, mounts)
	listen := flagValue(serveArgs, "--listen")
	if len(sc.Ports) != 1 || listen != ":"+strconv.Itoa(sc.Ports[0].ContainerPort) ||
		len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != sc.Ports[0].Name {
		t.Fatalf("serve listens on %q, the container port is %+v, the Service targets %+v: they must agree", listen, sc.Ports, svc.Spec.Ports)
	}
	srv := testutil.Command(t, bin, setFlag(t, serveArgs, "--listen", "127.0.0.1:0")...)
	srv.Env = append(os.Environ(), serveEnv...)
	var serveOut bytes.Buffer
	srv.Stdout = &serveOut
	stderr, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var addr string
	var serveErr bytes.Buffer
	lines := bufio.NewScanner(stderr)
	re := regexp.MustCompile(`listening on http://(\S+?)/`)
	for addr == "" && lines.Scan() {
		serveErr.WriteString(lines.Text() + "\n")
		if m := re.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("serve exited before listening:\n%s", serveErr.String())
	}
	serveDone := make(chan struct{})
	go func() { io.Copy(&serveErr, stderr); close(serveDone) }()

	// The Job's pods, all at once: the manifest's command line for each
	// index, aimed at the local serve.
	jc := onlyContainer(t, job)
	appURL := ""
	for _, e := range jc.Env {
		if e.Name == "APP_URL" {
			appURL = e.Value
		}
	}
	if want := fmt.Sprintf("http://%s:%d/", svc.Metadata.Name, svc.Spec.Ports[0].Port); !strings.HasPrefix(appURL, want) {
		t.Errorf("APP_URL %q does not point at the serve Service (%s…)", appURL, want)
	}
	const perPod = 25
	parts := make([]string, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	outs := make([]bytes.Buffer, n)
	for i := range n {
		args, env := k8sCommand(t, jc, i, secrets, map[string]string{"APP_URL": "http://" + addr + "/espf"}, mounts)
		args = setFlag(t, setFlag(t, args, "--count", strconv.Itoa(perPod)), "--rate", "500/s")
		parts[i] = flagValue(args, "--results")
		if filepath.Dir(parts[i]) != results {
			t.Fatalf("pod %d writes --results %q, not on the shared volume", i, parts[i])
		}
		cmd := testutil.Command(t, bin, args...) // a send that hangs ends with the test (its -timeout)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		wg.Go(func() { errs[i] = cmd.Run() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("send pod %d: %v\n%s", i, err, outs[i].String())
		}
	}

	// The parts: disjoint i_event ranges, index k from k*1000000+1.
	seen := map[int64]int{}
	for i, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[int64]bool{}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var r struct {
				IEvent int64 `json:"i_event"`
			}
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			ids[r.IEvent] = true
		}
		first := int64(i)*1000000 + 1
		for id := range ids {
			if id < first || id >= first+perPod {
				t.Errorf("pod %d sent i_event %d, outside its range %d…%d", i, id, first, first+perPod-1)
			}
			if j, dup := seen[id]; dup {
				t.Errorf("i_event %d sent by pods %d and %d", id, j, i)
			}
			seen[id] = i
		}
		if len(ids) != perPod {
			t.Errorf("pod %d sent %d distinct events, want %d", i, len(ids), perPod)
		}
	}

	// The report Job's merge equals the sum of the parts.
	mc := onlyContainer(t, merge)
	mergeArgs, _ := k8sCommand(t, mc, 0, secrets, nil, mounts)
	if len(mergeArgs) != n+1 || mergeArgs[0] != "report" || strings.Join(mergeArgs[1:], " ") != strings.Join(parts, " ") {
		t.Fatalf("report Job runs %q, want report and the %d parts %q", mergeArgs, n, parts)
	}
	merged := k8sReport(t, bin, mergeArgs...)
	var sum reportTotals
	for _, p := range parts {
		sum.add(k8sReport(t, bin, "report", p))
	}
	mj, _ := json.Marshal(merged)
	sj, _ := json.Marshal(sum)
	if !bytes.Equal(mj, sj) {
		t.Errorf("merged report totals\n%s\nwant the sum of the parts\n%s", mj, sj)
	}
	if merged.Events != n*perPod || merged.Outcomes.DeliveredFirstTry != n*perPod || merged.ByAnswer["200"] != n*perPod {
		t.Errorf("merged: %d events, %d delivered first try, %d answered 200; want %d each", merged.Events, merged.Outcomes.DeliveredFirstTry, merged.ByAnswer["200"], n*perPod)
	}

	// serve drains on SIGINT; its journal has every event exactly once.
	if err := srv.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-serveDone
	if err := srv.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		t.Fatalf("serve: %v\n%s", err, serveErr.String())
	}
	journal := flagValue(serveArgs, "--journal")
	out, err := testutil.Command(t, bin, "journal", journal, "--json").Output()
	if err != nil {
		t.Fatalf("espfctl journal: %v", err)
	}
	got := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var e struct {
			IEvent     int64 `json:"i_event"`
			Deliveries int   `json:"deliveries"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("journal: %v: %q", err, l)
		}
		if _, ok := seen[e.IEvent]; !ok || e.Deliveries != 1 {
			t.Errorf("journal: i_event %d delivered %d times (sent: %t)", e.IEvent, e.Deliveries, ok)
		}
		got++
	}
	if got != n*perPod {
		t.Errorf("journal has %d events, want %d", got, n*perPod)
	}
}
