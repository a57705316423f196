package release

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Options configure one release run.
type Options struct {
	Version string   // v1.2.3: embedded in the binaries, in every file name and the image tag
	Root    string   // the module root: ./cmd/espfctl, README.md, LICENSE and scenarios/ are read from it
	Dist    string   // the output directory; earlier espfctl_* files and checksums.txt in it are removed
	Targets []Target // the platforms to build; nil: Targets
	Image   bool     // also write the container image tarball (linux/amd64)
	// CACerts is the PEM bundle installed in the image (see ImageConfig);
	// "" puts none.
	CACerts string
	// Time is the modification time of every archive entry and the image's
	// creation time; the same sources and Time give the same files.
	Time time.Time
	// Commit is the VCS revision the release is built from (40 hex digits),
	// embedded for `espfctl version` with -ldflags -X: the build does not
	// read the VCS (-buildvcs=false), so the builder's go env cannot change
	// the binaries. "" embeds none.
	Commit string
	Log    io.Writer // what it is doing, as it goes; nil: discarded
}

// Stamp is what a release binary carries about itself.
type Stamp struct {
	Version string    // v1.2.3
	Commit  string    // the VCS revision; "" when unknown
	Time    time.Time // the commit's time
}

// Artifact is one file Run wrote to Dist.
type Artifact struct {
	Name string // file name in Dist
	Size int64
}

// Run builds the release into o.Dist: one archive per target, the image
// tarball when asked, and checksums.txt over all of them.
func Run(ctx context.Context, o Options) ([]Artifact, error) {
	if err := CheckVersion(o.Version); err != nil {
		return nil, err
	}
	if o.Targets == nil {
		o.Targets = Targets
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	docs, err := readDocs(o.Root, o.Version)
	if err != nil {
		return nil, err
	}
	var caCerts []byte
	if o.Image && o.CACerts != "" {
		if caCerts, err = os.ReadFile(o.CACerts); err != nil {
			return nil, fmt.Errorf("CA certificates for the image (-ca-certs): %w", err)
		}
	}
	if err := os.MkdirAll(o.Dist, 0o755); err != nil {
		return nil, err
	}
	if err := clean(o.Dist); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "espfctl-release-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	binaries := map[Target]string{}
	build := func(t Target) (string, error) {
		if p, ok := binaries[t]; ok {
			return p, nil
		}
		start := time.Now()
		p := filepath.Join(work, t.OS+"_"+t.Arch, t.BinaryName())
		what := "building " + t.String()
		if len(binaries) == 0 {
			what += " (a platform's first build compiles every package, the pure-Go SQLite the longest: minutes on a cold build cache)"
		}
		fmt.Fprintln(log, what)
		stop := still(log, "building "+t.String(), start, 30*time.Second)
		err := Build(ctx, o.Root, t, Stamp{o.Version, o.Commit, o.Time}, p)
		stop()
		if err != nil {
			return "", err
		}
		if err := checkBinary(p, t, o.Version); err != nil {
			return "", err
		}
		binaries[t] = p
		fmt.Fprintf(log, "built    %-14s in %s\n", t, time.Since(start).Round(100*time.Millisecond))
		return p, nil
	}

	var out []Artifact
	record := func(name string, start time.Time) error {
		fi, err := os.Stat(filepath.Join(o.Dist, name))
		if err != nil {
			return err
		}
		out = append(out, Artifact{name, fi.Size()})
		fmt.Fprintf(log, "wrote    %-40s %6.1f MiB in %s\n", filepath.Join(o.Dist, name), float64(fi.Size())/(1<<20), time.Since(start).Round(100*time.Millisecond))
		return nil
	}
	for _, t := range o.Targets {
		p, err := build(t)
		if err != nil {
			return nil, err
		}
		bin, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		dir := t.Folder(o.Version) + "/"
		files := []File{{Name: dir + t.BinaryName(), Mode: 0o755, Data: bin}}
		for _, d := range docs {
			d.Name = dir + d.Name
			files = append(files, d)
		}
		name := t.ArchiveName(o.Version)
		if err := WriteArchive(filepath.Join(o.Dist, name), files, o.Time); err != nil {
			return nil, err
		}
		if err := record(name, start); err != nil {
			return nil, err
		}
	}
	if o.Image {
		p, err := build(ImageTarget)
		if err != nil {
			return nil, err
		}
		bin, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		name := ImageName(o.Version)
		if err := WriteImage(filepath.Join(o.Dist, name), ImageConfig{Binary: bin, Version: o.Version, Created: o.Time, CACerts: caCerts}); err != nil {
			return nil, err
		}
		if err := record(name, start); err != nil {
			return nil, err
		}
	}
	names := make([]string, len(out))
	for i, a := range out {
		names[i] = a.Name
	}
	if err := WriteChecksums(o.Dist, names); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "wrote    %s\n", filepath.Join(o.Dist, "checksums.txt"))
	return out, nil
}

// still says every interval, until stop is called, that what is still
// going on, so that a long step is never silent.
func still(log io.Writer, what string, start time.Time, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(log, "still %s (%s)\n", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// buildEnv is the environment of a release build: the caller's, without
// anything that changes what go build produces (GOFLAGS such as
// -buildvcs=false or -race, GOEXPERIMENT, instruction-set levels, cgo),
// and with those fixed. GOFLAGS is set (not emptied), so that a GOFLAGS in
// the builder's go env file is overridden too.
func buildEnv(t Target) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOEXPERIMENT", "GOOS", "GOARCH", "GOAMD64", "GOARM64", "GOARM", "GO386", "CGO_ENABLED":
			continue
		}
		env = append(env, kv)
	}
	// The baseline instruction sets, so the binaries run on every machine
	// of their architecture.
	return append(env, "GOFLAGS=-mod=readonly", "CGO_ENABLED=0",
		"GOOS="+t.OS, "GOARCH="+t.Arch, "GOAMD64=v1", "GOARM64=v8.0")
}

// Build compiles root's ./cmd/espfctl for t into out: static (CGO_ENABLED=0),
// -trimpath, -buildvcs=false, symbols stripped, the version and commit
// embedded as main.version, main.commit and main.commitTime. Every input
// is fixed (buildEnv), so one commit gives the same bytes whatever the
// builder's go env.
func Build(ctx context.Context, root string, t Target, st Stamp, out string) error {
	goBin, err := goCommand()
	if err != nil {
		return err
	}
	ldflags := "-s -w -buildid= -X main.version=" + st.Version
	if st.Commit != "" {
		ldflags += " -X main.commit=" + st.Commit + " -X main.commitTime=" + st.Time.UTC().Format(time.RFC3339)
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false", "-buildmode=exe",
		"-ldflags", ldflags, "-o", out, "./cmd/espfctl")
	cmd.Dir = root
	cmd.Env = buildEnv(t)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %w\n%s", t, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// goCommand finds the go command: the one that runs this program under
// `go run`/`go test` (GOROOT/bin is on PATH then), else $GOROOT/bin/go.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if r := os.Getenv("GOROOT"); r != "" {
		p := filepath.Join(r, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the go command is not on PATH")
}

// checkBinary holds the promises a release makes about its binaries: a
// linux binary has no dynamic loader and no shared libraries, and one that
// runs here prints its version.
func checkBinary(p string, t Target, version string) error {
	if t.OS == "linux" {
		f, err := elf.Open(p)
		if err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		defer f.Close()
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
				return fmt.Errorf("%s: the binary is dynamically linked (it has a %s segment)", t, prog.Type)
			}
		}
	}
	if t.OS == runtime.GOOS && t.Arch == runtime.GOARCH {
		got, err := exec.Command(p, "version").Output()
		if err != nil {
			return fmt.Errorf("%s: espfctl version: %w", t, err)
		}
		if want := "espfctl " + version + " "; !strings.HasPrefix(string(got), want) {
			return fmt.Errorf("%s: espfctl version printed %q, want it to start with %q", t, strings.TrimSpace(string(got)), want)
		}
	}
	return nil
}

// readDocs reads what every archive carries beside the binary: the release
// README (ReleaseREADME), LICENSE and the example scenarios the README's
// first steps run.
func readDocs(root, version string) ([]File, error) {
	names := []string{"README.md", "LICENSE"}
	scen, err := filepath.Glob(filepath.Join(root, "scenarios", "*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(scen)
	for _, s := range scen {
		if b := filepath.Base(s); strings.HasSuffix(b, ".yaml") || b == "README.md" {
			names = append(names, "scenarios/"+b)
		}
	}
	var out []File
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(n)))
		if err != nil {
			return nil, fmt.Errorf("release files: %w", err)
		}
		if n == "README.md" {
			b = ReleaseREADME(b, version)
		}
		out = append(out, File{Name: n, Mode: 0o644, Data: b})
	}
	return out, nil
}

// clean removes what an earlier run left in dist: espfctl_* artifacts and
// checksums.txt. Other files are left alone.
func clean(dist string) error {
	old, err := filepath.Glob(filepath.Join(dist, "espfctl_*"))
	if err != nil {
		return err
	}
	for _, p := range append(old, filepath.Join(dist, "checksums.txt")) {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
