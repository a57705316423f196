package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// testVersion is what the test release embeds; a pre-release, so that it is
// never mistaken for a real one.
const testVersion = "v9.8.7-test.1"

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var (
	releaseOnce sync.Once
	releaseDir  string // holds releases/VERSION/…, like a release download base
	releaseErr  error
	tmpRoot     string
)

func TestMain(m *testing.M) {
	var err error
	if tmpRoot, err = os.MkdirTemp("", "espfctl-release-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	_ = os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// hostImage says whether the test release includes the image: when the
// image's platform is this machine's, its binary is the one already built.
func hostImage() bool { return runtime.GOOS == ImageTarget.OS && runtime.GOARCH == ImageTarget.Arch }

// hostRelease runs .ci/release once for this machine's platform and returns
// the releases directory (BASE of BASE/VERSION/FILE). It runs the script as
// a user does, in its own process, so it is not slowed by -race.
func hostRelease(t *testing.T) string {
	t.Helper()
	releaseOnce.Do(func() {
		releaseDir = filepath.Join(tmpRoot, "releases")
		args := []string{filepath.Join("..", "..", ".ci", "release"),
			"-targets", runtime.GOOS + "/" + runtime.GOARCH,
			"-dist", filepath.Join(releaseDir, testVersion)}
		if !hostImage() {
			args = append(args, "-no-image")
		}
		cmd := testutil.Command(t, "bash", append(args, testVersion)...) // bounded by the test's -timeout only
		cmd.Env = append(os.Environ(), fmt.Sprintf("SOURCE_DATE_EPOCH=%d", testTime.Unix()))
		if out, err := cmd.CombinedOutput(); err != nil {
			releaseErr = fmt.Errorf(".ci/release: %v\n%s", err, out)
		}
	})
	if releaseErr != nil {
		t.Fatal(releaseErr)
	}
	return releaseDir
}

func TestReleaseWritesArchiveChecksumsAndImage(t *testing.T) {
	testutil.Slow(t) // builds a release
	dist := filepath.Join(hostRelease(t), testVersion)
	host := Target{runtime.GOOS, runtime.GOARCH}
	want := []string{"checksums.txt", host.ArchiveName(testVersion)}
	if hostImage() {
		want = append(want, ImageName(testVersion))
	}
	sort.Strings(want)
	des, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, de := range des {
		got = append(got, de.Name())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("dist holds %q, want %q", got, want)
	}

	// checksums.txt lists exactly the artifacts, and sha256sum accepts it.
	sums, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(sums)), "\n")
	if len(lines) != len(want)-1 {
		t.Fatalf("checksums.txt:\n%s\nwant one line for each of %v", sums, want)
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := testutil.Command(t, "sha256sum", "-c", "checksums.txt")
		cmd.Dir = dist
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sha256sum -c: %v\n%s", err, out)
		}
	}

	// The archive has the binary and the docs; the binary prints the version.
	// Everything is under one folder, espfctl_VERSION_OS_ARCH/.
	dirFiles := readArchive(t, filepath.Join(dist, host.ArchiveName(testVersion)))
	folder := host.Folder(testVersion) + "/"
	files := map[string]entry{}
	for n, f := range dirFiles {
		rel, ok := strings.CutPrefix(n, folder)
		if !ok && n+"/" != folder {
			t.Errorf("archive entry %s is outside %s", n, folder)
		}
		files[rel] = f
	}
	for _, n := range []string{host.BinaryName(), "README.md", "LICENSE", "scenarios/quickstart.yaml"} {
		if _, ok := files[n]; !ok {
			t.Errorf("archive lacks %s%s; has %v", folder, n, keys(dirFiles))
		}
	}
	if readme := string(files["README.md"].data); strings.Contains(readme, "go run") {
		t.Errorf("the archive's README starts from a checkout (go run), not the binary")
	}
	if !strings.Contains(string(files["LICENSE"].data), "MIT License") {
		t.Errorf("LICENSE is not the MIT license")
	}
	if m := files[host.BinaryName()].mode; runtime.GOOS != "windows" && m&0o111 == 0 {
		t.Errorf("binary mode %o: not executable", m)
	}
	bin := filepath.Join(t.TempDir(), host.BinaryName())
	if err := os.WriteFile(bin, files[host.BinaryName()].data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := testutil.Command(t, bin, "version").Output()
	if err != nil {
		t.Fatalf("espfctl version: %v", err)
	}
	if !strings.HasPrefix(string(out), "espfctl "+testVersion+" ") {
		t.Errorf("espfctl version printed %q, want %s", out, testVersion)
	}
	if err := checkBinary(bin, host, testVersion); err != nil {
		t.Error(err)
	}

	if hostImage() {
		checkImage(t, filepath.Join(dist, ImageName(testVersion)))
	}
}

// checkImage reads the tarball as `docker load` does (manifest.json, config,
// layers), validates every digest and checks the promised configuration;
// the binary in the layer runs and prints the version.
func checkImage(t *testing.T, p string) {
	t.Helper()
	tag, err := ImageTag(testVersion)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(p, &tag)
	if err != nil {
		t.Fatalf("image tarball has no espfctl:%s: %v", testVersion, err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("image does not validate: %v", err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].RepoTags) != 1 || m[0].RepoTags[0] != "espfctl:"+testVersion {
		t.Errorf("manifest.json = %+v, want one image tagged espfctl:%s", m, testVersion)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if strings.Join(c.Entrypoint, " ") != "espfctl" || c.User != ImageUser || cf.OS != "linux" || cf.Architecture != "amd64" || cf.RootFS.Type != "layers" {
		t.Errorf("config: entrypoint %q user %q platform %s/%s rootfs %q", c.Entrypoint, c.User, cf.OS, cf.Architecture, cf.RootFS.Type)
	}
	if !cf.Created.Time.Equal(testTime) {
		t.Errorf("created %v, want %v", cf.Created.Time, testTime)
	}
	if c.Labels["org.opencontainers.image.version"] != testVersion {
		t.Errorf("labels %v", c.Labels)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d %v, want 1 (on an empty base)", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	entries := map[string]*tar.Header{}
	var binary []byte
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = h
		if h.Name == strings.TrimPrefix(ImageBinary, "/") {
			binary, _ = io.ReadAll(tr)
		}
	}
	if h := entries["usr/local/bin/espfctl"]; h == nil || h.Mode&0o111 == 0 {
		t.Fatalf("layer has no executable usr/local/bin/espfctl: %v", keys2(entries))
	}
	if h := entries["home/nonroot/"]; h == nil || h.Uid != ImageUID {
		t.Errorf("home/nonroot/ not owned by %d: %+v", ImageUID, h)
	}
	if h := entries["tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("tmp/ not 1777: %+v", h)
	}
	if !strings.Contains(c.Env[0], ImagePath) {
		t.Errorf("PATH %q lacks %s: the entrypoint would not be found", c.Env, ImagePath)
	}
	bin := filepath.Join(t.TempDir(), "espfctl")
	if err := os.WriteFile(bin, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := testutil.Command(t, bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "espfctl "+testVersion+" ") {
		t.Errorf("the image's espfctl version: %q %v", out, err)
	}
}

func TestImageCACertsAndUser(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	p := filepath.Join(t.TempDir(), "img.tar")
	if err := WriteImage(p, ImageConfig{Binary: []byte("#!fake"), Version: "v1.2.3", Created: testTime, CACerts: ca}); err != nil {
		t.Fatal(err)
	}
	tag, _ := ImageTag("v1.2.3")
	img, err := tarball.ImageFromPath(p, &tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	rc, _ := layers[0].Uncompressed()
	defer rc.Close()
	got := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		got[h.Name], _ = io.ReadAll(tr)
	}
	if !bytes.Equal(got["etc/ssl/certs/ca-certificates.crt"], ca) {
		t.Errorf("CA bundle not at etc/ssl/certs/ca-certificates.crt, where Go looks for roots")
	}
	if !strings.Contains(string(got["etc/passwd"]), "nonroot:x:65532:65532:") {
		t.Errorf("etc/passwd = %q: no nonroot user 65532", got["etc/passwd"])
	}
	if err := WriteImage(p, ImageConfig{Version: "v1.2.3"}); err == nil {
		t.Errorf("an image without a binary was written")
	}
}

func TestImageIsReproducible(t *testing.T) {
	dir := t.TempDir()
	c := ImageConfig{Binary: bytes.Repeat([]byte("espfctl"), 1000), Version: "v1.2.3", Created: testTime}
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	if err := WriteImage(a, c); err != nil {
		t.Fatal(err)
	}
	if err := WriteImage(b, c); err != nil {
		t.Fatal(err)
	}
	if !sameFile(t, a, b) {
		t.Errorf("two image builds from the same input differ")
	}
}

func TestArchivesRoundTripAndAreReproducible(t *testing.T) {
	files := []File{
		{Name: "espfctl", Mode: 0o755, Data: []byte("binary")},
		{Name: "README.md", Mode: 0o644, Data: []byte("# espfctl\n")},
		{Name: "scenarios/a.yaml", Mode: 0o644, Data: []byte("version: 1\n")},
		{Name: "scenarios/b.yaml", Mode: 0o644, Data: []byte("version: 1\n")},
	}
	for _, ext := range []string{".tar.gz", ".zip"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			a, b := filepath.Join(dir, "a"+ext), filepath.Join(dir, "b"+ext)
			if err := WriteArchive(a, files, testTime); err != nil {
				t.Fatal(err)
			}
			if err := WriteArchive(b, files, testTime.Add(0)); err != nil {
				t.Fatal(err)
			}
			if !sameFile(t, a, b) {
				t.Errorf("the same files gave different archives")
			}
			got := readArchive(t, a)
			for _, f := range files {
				g, ok := got[f.Name]
				if !ok || !bytes.Equal(g.data, f.Data) || g.mode != f.Mode {
					t.Errorf("%s: got %+v", f.Name, g)
				}
				if !g.mtime.Equal(testTime) {
					t.Errorf("%s: mtime %v, want %v", f.Name, g.mtime, testTime)
				}
			}
			if d, ok := got["scenarios/"]; !ok || !d.dir {
				t.Errorf("no directory entry for scenarios/: %v", keys(got))
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
			if len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func TestChecksumsVerifyWithSha256sum(t *testing.T) {
	sha, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("no sha256sum")
	}
	dir := t.TempDir()
	for n, s := range map[string]string{"b.zip": "bbb", "a.tar.gz": "aaa"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteChecksums(dir, []string{"b.zip", "a.tar.gz"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "checksums.txt"))
	want := "9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0  a.tar.gz\n" +
		"3e744b9dc39389baf0c5a0660589b8402f3dbb49b89b3e75f2c9355852a3c677  b.zip\n"
	if string(b) != want {
		t.Errorf("checksums.txt:\n%s\nwant (sorted by name):\n%s", b, want)
	}
	cmd := testutil.Command(t, sha, "-c", "checksums.txt")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	// A changed file fails the check.
	if err := os.WriteFile(filepath.Join(dir, "b.zip"), []byte("bbB"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = testutil.Command(t, sha, "-c", "checksums.txt")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "b.zip: FAILED") {
		t.Errorf("sha256sum -c accepted a changed file: %v\n%s", err, out)
	}
}

func TestCheckVersion(t *testing.T) {
	for _, v := range []string{"v9.8.7", "v0.1.0", "v1.2.3-rc.1", "v10.20.30-beta-2"} {
		if err := CheckVersion(v); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	for _, v := range []string{"", "9.8.7", "v1.2", "v1.2.3+build", "v1.02.3", "v1.2.3 ", "v1.2.3/../x", "latest"} {
		if err := CheckVersion(v); err == nil || !strings.Contains(err.Error(), "v1.2.3") {
			t.Errorf("%q accepted or unclear: %v", v, err)
		}
	}
}

func TestParseTargetsAndNames(t *testing.T) {
	ts, err := ParseTargets("linux/amd64, windows/arm64")
	if err != nil || len(ts) != 2 || ts[1] != (Target{"windows", "arm64"}) {
		t.Fatalf("ParseTargets = %v, %v", ts, err)
	}
	if got := ts[0].ArchiveName("v1.2.3"); got != "espfctl_v1.2.3_linux_amd64.tar.gz" {
		t.Errorf("archive %s", got)
	}
	if got := ts[1].ArchiveName("v1.2.3"); got != "espfctl_v1.2.3_windows_arm64.zip" {
		t.Errorf("archive %s", got)
	}
	if ts[1].BinaryName() != "espfctl.exe" {
		t.Errorf("windows binary %s", ts[1].BinaryName())
	}
	if _, err := ParseTargets("linux/386"); err == nil || !strings.Contains(err.Error(), "linux/amd64,linux/arm64") {
		t.Errorf("linux/386: %v", err)
	}
	want := map[Target]bool{}
	for _, os := range []string{"linux", "darwin", "windows"} {
		for _, arch := range []string{"amd64", "arm64"} {
			want[Target{os, arch}] = true
		}
	}
	got := map[Target]bool{}
	for _, tg := range Targets {
		got[tg] = true
	}
	if !maps.Equal(got, want) || len(Targets) != len(got) {
		t.Errorf("targets %v, want linux, darwin and windows on amd64 and arm64, each once", Targets)
	}
}

// TestEspfctlDoesNotLinkReleaseTooling: the container-image libraries are
// for the release tool only; espfctl's binary must not carry them.
func TestEspfctlDoesNotLinkReleaseTooling(t *testing.T) {
	out, err := testutil.Command(t, "go", "list", "-deps", "github.com/espfctl/espfctl/cmd/espfctl").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/google/go-containerregistry") || p == "github.com/espfctl/espfctl/internal/release" {
			t.Errorf("cmd/espfctl depends on %s", p)
		}
	}
}

type entry struct {
	data  []byte
	mode  os.FileMode
	mtime time.Time
	dir   bool
}

// readArchive reads a .tar.gz or .zip into name → entry.
func readArchive(t *testing.T, p string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	if strings.HasSuffix(p, ".zip") {
		zr, err := zip.OpenReader(p)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			out[f.Name] = entry{b, f.Mode().Perm(), f.Modified.UTC(), f.Mode().IsDir()}
		}
		return out
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = entry{b, os.FileMode(h.Mode).Perm(), h.ModTime.UTC(), h.Typeflag == tar.TypeDir}
	}
	return out
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

func keys(m map[string]entry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func keys2(m map[string]*tar.Header) string {
	b, _ := json.Marshal(m)
	return string(b)
}
