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
	Log  io.Writer // one line per artifact; nil: discarded
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
	docs, err := readDocs(o.Root)
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
		if err := Build(ctx, o.Root, t, o.Version, p); err != nil {
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
		files := append([]File{{Name: t.BinaryName(), Mode: 0o755, Data: bin}}, docs...)
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

// Build compiles root's ./cmd/espfctl for t into out: static (CGO_ENABLED=0),
// -trimpath, symbols stripped, version embedded as main.version.
func Build(ctx context.Context, root string, t Target, version, out string) error {
	goBin, err := goCommand()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+version,
		"-o", out, "./cmd/espfctl")
	cmd.Dir = root
	// The baseline instruction sets, whatever the environment asks for, so
	// the binaries run on every machine of their architecture.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.OS, "GOARCH="+t.Arch, "GOAMD64=v1", "GOARM64=v8.0")
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

// readDocs reads what every archive carries beside the binary: README.md,
// LICENSE and the example scenarios the README's quick start runs.
func readDocs(root string) ([]File, error) {
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
