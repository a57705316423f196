package release

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The image's user: not root, the uid/gid distroless calls nonroot.
const (
	ImageUID  = 65532
	ImageUser = "65532:65532"
	ImageHome = "/home/nonroot"
	// ImageBinary is where the binary lives; ImagePath puts it on PATH so
	// the entrypoint can name it.
	ImageBinary = "/usr/local/bin/espfctl"
	ImagePath   = "/usr/local/bin"
)

// ImageConfig describes the container image.
type ImageConfig struct {
	Binary  []byte    // a static linux binary for ImageTarget
	Version string    // the release version: the tag and a label
	Created time.Time // the image's creation time (for reproducible builds, the commit's)
	// CACerts is a PEM bundle installed as /etc/ssl/certs/ca-certificates.crt,
	// where Go looks for trusted roots, so that send and check can reach an
	// Application with a public certificate. Empty: none.
	CACerts []byte
}

// Image builds the image: one layer on an empty base holding the binary,
// passwd/group entries for the non-root user, its home (the working
// directory) and /tmp; ENTRYPOINT ["espfctl"], so `docker run IMAGE send …`
// runs espfctl send.
func Image(c ImageConfig) (v1.Image, error) {
	if len(c.Binary) == 0 {
		return nil, fmt.Errorf("image: no binary")
	}
	layerTar, err := imageLayer(c)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	created := v1.Time{Time: c.Created.UTC().Truncate(time.Second)}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: ImageTarget.Arch,
		OS:           ImageTarget.OS,
		Created:      created,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint:   []string{"espfctl"},
			User:         ImageUser,
			WorkingDir:   ImageHome,
			Env:          []string{"PATH=" + ImagePath, "HOME=" + ImageHome},
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			Labels: map[string]string{
				"org.opencontainers.image.title":       "espfctl",
				"org.opencontainers.image.description": "Test kit for PortaBilling ESPF Applications",
				"org.opencontainers.image.version":     c.Version,
				"org.opencontainers.image.licenses":    "MIT",
				"org.opencontainers.image.source":      "https://github.com/espfctl/espfctl",
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   created,
			CreatedBy: "espfctl release " + c.Version,
			Comment:   "espfctl static binary, CA certificates, non-root user " + ImageUser,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	return img, nil
}

// ImageTag is the tag the tarball carries: espfctl:VERSION.
func ImageTag(version string) (name.Tag, error) {
	return name.NewTag("espfctl:" + version)
}

// WriteImage writes the image to p as a tarball `docker load` reads (the
// `docker save` layout: manifest.json, the config and the layer), tagged
// espfctl:VERSION.
func WriteImage(p string, c ImageConfig) error {
	img, err := Image(c)
	if err != nil {
		return err
	}
	tag, err := ImageTag(c.Version)
	if err != nil {
		return fmt.Errorf("image tag: %w", err)
	}
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// imageLayer is the layer's uncompressed tar.
func imageLayer(c ImageConfig) ([]byte, error) {
	mtime := c.Created.UTC().Truncate(time.Second)
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", ImageUID, ImageUID, ImageHome)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", ImageUID)
	type entry struct {
		name     string
		mode     int64
		uid      int
		data     []byte
		isDir    bool
		optional bool
	}
	entries := []entry{
		{name: "etc/", mode: 0o755, isDir: true},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/ssl/", mode: 0o755, isDir: true, optional: true},
		{name: "etc/ssl/certs/", mode: 0o755, isDir: true, optional: true},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: c.CACerts, optional: true},
		{name: "home/", mode: 0o755, isDir: true},
		{name: "home/nonroot/", mode: 0o755, uid: ImageUID, isDir: true},
		{name: "tmp/", mode: 0o1777, isDir: true},
		{name: "usr/", mode: 0o755, isDir: true},
		{name: "usr/local/", mode: 0o755, isDir: true},
		{name: "usr/local/bin/", mode: 0o755, isDir: true},
		{name: "usr/local/bin/espfctl", mode: 0o755, data: c.Binary},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if e.optional && len(c.CACerts) == 0 {
			continue
		}
		h := &tar.Header{
			Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: mtime,
			Typeflag: tar.TypeReg, Size: int64(len(e.data)),
		}
		if e.isDir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
