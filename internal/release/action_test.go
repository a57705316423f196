package release

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/espfctl/espfctl/internal/testutil"
	"gopkg.in/yaml.v3"
)

// The action test runs action.yml's steps the way the GitHub runner runs a
// composite action (inputs and expressions substituted, each `run` in
// `bash --noprofile --norc -eo pipefail`, GITHUB_PATH and GITHUB_OUTPUT
// honoured between steps) against a release directory made by the real
// release code, served over loopback HTTP or as file://.

type actionFile struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

type actionStep struct {
	Name             string            `yaml:"name"`
	ID               string            `yaml:"id"`
	If               string            `yaml:"if"`
	Shell            string            `yaml:"shell"`
	Run              string            `yaml:"run"`
	Uses             string            `yaml:"uses"`
	WorkingDirectory string            `yaml:"working-directory"`
	Env              map[string]string `yaml:"env"`
}

// actionRun is one run of the action.
type actionRun struct {
	inputs    map[string]string
	actionRef string
	env       []string // extra runner environment (ESPFCTL_RELEASE_BASE…)
	workspace string
}

type actionResult struct {
	stdout, stderr string
	ran            []string          // names of the steps that ran
	outputs        map[string]string // the action's outputs
	path           []string          // what the steps added to GITHUB_PATH
	err            error             // the failing step's error
}

const testToken = "ghs_espfctlTestToken0123456789"

var exprRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

func runAction(t *testing.T, r actionRun) actionResult {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("action.yml: runs.using %q, want composite", a.Runs.Using)
	}
	inputs := map[string]string{}
	for k, v := range a.Inputs {
		inputs[k] = v.Default
	}
	for k, v := range r.inputs {
		if _, ok := a.Inputs[k]; !ok {
			t.Fatalf("action.yml has no input %q", k)
		}
		inputs[k] = v
	}
	steps := map[string]map[string]string{}
	eval := func(expr string) string {
		parts := strings.Split(expr, ".")
		switch {
		case len(parts) == 2 && parts[0] == "inputs":
			if v, ok := inputs[parts[1]]; ok {
				return v
			}
		case expr == "github.action_ref":
			return r.actionRef
		case expr == "github.action_path":
			return root
		case expr == "github.token":
			return testToken
		case len(parts) == 4 && parts[0] == "steps" && parts[2] == "outputs":
			return steps[parts[1]][parts[3]]
		}
		t.Fatalf("action.yml: expression %q is not one this test runner knows", expr)
		return ""
	}
	expand := func(s string) string {
		return exprRE.ReplaceAllStringFunc(s, func(m string) string { return eval(exprRE.FindStringSubmatch(m)[1]) })
	}
	cond := func(s string) bool {
		s = strings.TrimSpace(s)
		if m := exprRE.FindStringSubmatch(s); m != nil && m[0] == s {
			s = m[1]
		}
		if l, ok := strings.CutSuffix(s, " != ''"); ok {
			return eval(strings.TrimSpace(l)) != ""
		}
		if l, ok := strings.CutSuffix(s, " == ''"); ok {
			return eval(strings.TrimSpace(l)) == ""
		}
		t.Fatalf("action.yml: condition %q is not one this test runner knows", s)
		return false
	}

	runnerTemp := t.TempDir()
	pathFile := filepath.Join(runnerTemp, "github_path")
	osName := map[string]string{"linux": "Linux", "darwin": "macOS", "windows": "Windows"}[runtime.GOOS]
	archName := map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
	basePath := os.Getenv("PATH")
	var res actionResult
	var stdout, stderr bytes.Buffer
	for i, s := range a.Runs.Steps {
		if s.Uses != "" || s.Shell != "bash" || s.Run == "" {
			t.Fatalf("action.yml step %d: want a bash run step (the action must not depend on other actions)", i)
		}
		if s.If != "" && !cond(s.If) {
			continue
		}
		res.ran = append(res.ran, expand(s.Name))
		script := filepath.Join(runnerTemp, fmt.Sprintf("step%d.sh", i))
		if err := os.WriteFile(script, []byte(expand(s.Run)), 0o644); err != nil {
			t.Fatal(err)
		}
		outFile := filepath.Join(runnerTemp, fmt.Sprintf("output%d", i))
		if err := os.WriteFile(outFile, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		path := basePath
		for _, p := range res.path {
			path = p + string(os.PathListSeparator) + path
		}
		env := append(os.Environ(),
			"PATH="+path,
			"GITHUB_ACTIONS=true",
			"GITHUB_ACTION_PATH="+root,
			"GITHUB_WORKSPACE="+r.workspace,
			"GITHUB_PATH="+pathFile,
			"GITHUB_OUTPUT="+outFile,
			"RUNNER_OS="+osName,
			"RUNNER_ARCH="+archName,
			"RUNNER_TEMP="+runnerTemp,
			"RUNNER_TOOL_CACHE="+filepath.Join(runnerTemp, "toolcache"),
			// The release server is on loopback: never through a proxy.
			"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		)
		env = append(env, r.env...)
		for k, v := range s.Env {
			env = append(env, k+"="+expand(v))
		}
		dir := r.workspace
		if wd := expand(s.WorkingDirectory); wd != "" {
			dir = filepath.Join(r.workspace, wd)
		}
		cmd := testutil.Command(t, "bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		cmd.Dir, cmd.Env = dir, env
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		outs, perr := readOutputs(outFile)
		if perr != nil {
			t.Fatalf("step %q: GITHUB_OUTPUT: %v", s.Name, perr)
		}
		if s.ID != "" {
			steps[s.ID] = outs
		}
		res.path = nil
		if b, err := os.ReadFile(pathFile); err == nil {
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if l != "" {
					res.path = append(res.path, l)
				}
			}
		}
		if err != nil {
			res.err = fmt.Errorf("step %q: %w", expand(s.Name), err)
			break
		}
	}
	res.stdout, res.stderr = stdout.String(), stderr.String()
	if res.err == nil {
		res.outputs = map[string]string{}
		for k, v := range a.Outputs {
			res.outputs[k] = expand(v.Value)
		}
	}
	return res
}

// readOutputs parses a GITHUB_OUTPUT file: name=value lines and
// name<<DELIMITER blocks.
func readOutputs(p string) (map[string]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if name, delim, ok := strings.Cut(l, "<<"); ok && !strings.Contains(name, "=") {
			var v []string
			for sc.Scan() && sc.Text() != delim {
				v = append(v, sc.Text())
			}
			out[name] = strings.Join(v, "\n")
			continue
		}
		name, v, ok := strings.Cut(l, "=")
		if !ok {
			return nil, fmt.Errorf("line %q is neither name=value nor name<<DELIMITER", l)
		}
		out[name] = v
	}
	return out, sc.Err()
}

// releaseServer serves the releases directory over loopback HTTP, with a
// GitHub-like API whose releases/latest names testVersion, and records the
// Authorization headers it was sent.
type releaseServer struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func newReleaseServer(t *testing.T, dir string) *releaseServer {
	s := &releaseServer{}
	files := http.StripPrefix("/download", http.FileServer(http.Dir(dir)))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		if r.URL.Path == "/api/releases" { // newest first by date, as GitHub lists them; not by version
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, "[\n  {\"tag_name\": %q, \"prerelease\": true},\n  {\"tag_name\": \"v9.8.6\"},\n  {\"tag_name\": \"v10.0.0\"},\n  {\"tag_name\": \"v9.10.0\"},\n  {\"tag_name\": \"v9.9.1\"}\n]\n", testVersion)
			return
		}
		if r.URL.Path == "/api/releases/latest" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, "{\n  \"url\": \"x\",\n  \"tag_name\": %q,\n  \"name\": \"espfctl\"\n}\n", testVersion)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *releaseServer) sawToken() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.auth {
		if strings.Contains(a, testToken) {
			return true
		}
	}
	return len(s.auth) == 0 // no request at all is a failure too
}

func needTools(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the test runs the action's bash steps; on Windows the runner's Git Bash is not assumed")
	}
	for _, tool := range []string{"bash", "curl", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the action needs %s", tool)
		}
	}
}

func TestActionInstallsReleaseAndRunsCommand(t *testing.T) {
	testutil.Slow(t) // builds a release
	needTools(t)
	dir := hostRelease(t)
	srv := newReleaseServer(t, dir)
	base := "ESPFCTL_RELEASE_BASE=" + srv.URL + "/download"
	api := "ESPFCTL_RELEASE_API=" + srv.URL + "/api"
	host := Target{runtime.GOOS, runtime.GOARCH}

	t.Run("version input, command prints the version", func(t *testing.T) {
		ws := t.TempDir()
		res := runAction(t, actionRun{
			inputs:    map[string]string{"version": testVersion, "command": "version"},
			env:       []string{base, api},
			workspace: ws,
		})
		if res.err != nil {
			t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", res.err, res.stdout, res.stderr)
		}
		if len(res.ran) != 2 || res.ran[1] != "espfctl version" {
			t.Errorf("steps run: %q, want the install and the command", res.ran)
		}
		// Once from the install step, once from the command.
		if n := strings.Count(res.stdout, "espfctl "+testVersion+" "); n != 2 {
			t.Errorf("stdout has %d version lines, want 2:\n%s", n, res.stdout)
		}
		if !strings.Contains(res.stderr, host.ArchiveName(testVersion)+" (sha256 ") || !strings.Contains(res.stderr, "verified") {
			t.Errorf("stderr does not say which archive was verified:\n%s", res.stderr)
		}
		if res.outputs["version"] != testVersion || len(res.path) != 1 || res.outputs["path"] != res.path[0] {
			t.Errorf("outputs %v, GITHUB_PATH %v", res.outputs, res.path)
		}
		out, err := testutil.Command(t, filepath.Join(res.outputs["path"], host.BinaryName()), "version").Output()
		if err != nil || !strings.HasPrefix(string(out), "espfctl "+testVersion) {
			t.Errorf("installed binary: %q %v", out, err)
		}
	})

	t.Run("latest, no command, token kept from a mirror", func(t *testing.T) {
		res := runAction(t, actionRun{
			inputs:    map[string]string{},
			actionRef: "main", // not a version: the latest release is asked for
			env:       []string{base, api},
			workspace: t.TempDir(),
		})
		if res.err != nil {
			t.Fatalf("%v\nstderr:\n%s", res.err, res.stderr)
		}
		if len(res.ran) != 1 {
			t.Errorf("steps run: %q, want only the install (empty command)", res.ran)
		}
		if res.outputs["version"] != testVersion {
			t.Errorf("installed %q, want the latest release %s", res.outputs["version"], testVersion)
		}
		if srv.sawToken() {
			t.Errorf("the GitHub token was sent to a release mirror: %q", srv.auth)
		}
	})

	t.Run("working-directory, quoting and the command's exit code", func(t *testing.T) {
		ws := t.TempDir()
		if err := os.MkdirAll(filepath.Join(ws, "app"), 0o755); err != nil {
			t.Fatal(err)
		}
		scen, err := os.ReadFile(filepath.Join("..", "..", "scenarios", "quickstart.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, "app", "my scenario.yaml"), scen, 0o644); err != nil {
			t.Fatal(err)
		}
		run := func(command string) actionResult {
			return runAction(t, actionRun{
				inputs:    map[string]string{"version": testVersion, "command": command, "working-directory": "app"},
				env:       []string{"ESPFCTL_RELEASE_BASE=file://" + dir},
				workspace: ws,
			})
		}
		res := run(`validate "my scenario.yaml"`)
		if res.err != nil || !strings.Contains(res.stdout, "my scenario.yaml: ok") {
			t.Errorf("validate in app/: %v\nstdout:\n%s\nstderr:\n%s", res.err, res.stdout, res.stderr)
		}
		res = run(`validate "no such scenario.yaml"`)
		var ee *exec.ExitError
		if !errors.As(res.err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("an invalid scenario: step error %v, want exit status 2 (invalid input)", res.err)
		}
	})

	t.Run("a corrupted archive is not installed", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "releases")
		src := filepath.Join(dir, testVersion)
		if err := os.MkdirAll(filepath.Join(bad, testVersion), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"checksums.txt", host.ArchiveName(testVersion)} {
			b, err := os.ReadFile(filepath.Join(src, n))
			if err != nil {
				t.Fatal(err)
			}
			if n != "checksums.txt" {
				b[len(b)/2] ^= 0xff
			}
			if err := os.WriteFile(filepath.Join(bad, testVersion, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		res := runAction(t, actionRun{
			inputs:    map[string]string{"version": testVersion, "command": "version"},
			env:       []string{"ESPFCTL_RELEASE_BASE=file://" + bad},
			workspace: t.TempDir(),
		})
		if res.err == nil {
			t.Fatalf("a corrupted archive was installed:\n%s", res.stdout)
		}
		if !strings.Contains(res.stderr, "checksum mismatch for "+host.ArchiveName(testVersion)) || !strings.Contains(res.stderr, "not installed") {
			t.Errorf("stderr does not explain the refusal:\n%s", res.stderr)
		}
		if len(res.ran) != 1 || len(res.path) != 0 || strings.Contains(res.stdout, "espfctl "+testVersion) {
			t.Errorf("after a refused download: steps %q, GITHUB_PATH %v, stdout %q", res.ran, res.path, res.stdout)
		}
	})

	// uses: espfctl/espfctl@v9 (how actions are pinned) or @v9.8: the newest
	// matching release by version (v9.10.0 > v9.9.1), prereleases left out.
	// The mirror holds only testVersion's files, so the download of the
	// version chosen fails, naming it.
	for _, tc := range []struct{ ref, want string }{{"v9", "v9.10.0"}, {"v9.8", "v9.8.6"}} {
		t.Run("uses @"+tc.ref, func(t *testing.T) {
			res := runAction(t, actionRun{inputs: map[string]string{}, actionRef: tc.ref, env: []string{base, api}, workspace: t.TempDir()})
			if !strings.Contains(res.stderr, tc.ref+" is "+tc.want+", the newest matching release") ||
				!strings.Contains(res.stderr, "/"+tc.want+"/checksums.txt") {
				t.Errorf("@%s: err %v, stderr:\n%s\nwant it resolved to %s", tc.ref, res.err, res.stderr, tc.want)
			}
		})
	}
	t.Run("uses @v7: no matching release", func(t *testing.T) {
		res := runAction(t, actionRun{inputs: map[string]string{}, actionRef: "v7", env: []string{base, api}, workspace: t.TempDir()})
		if res.err == nil || !strings.Contains(res.stderr, "no release matches v7") {
			t.Errorf("@v7: err %v, stderr:\n%s", res.err, res.stderr)
		}
	})

	t.Run("a version that is not a release", func(t *testing.T) {
		res := runAction(t, actionRun{
			inputs:    map[string]string{"version": "v0.0.1"},
			env:       []string{base},
			workspace: t.TempDir(),
		})
		if res.err == nil || !strings.Contains(res.stderr, "is v0.0.1 a release?") {
			t.Errorf("err %v, stderr:\n%s", res.err, res.stderr)
		}
	})
}
