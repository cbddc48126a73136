package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's contract with the manifests in deploy/kubernetes and with
// deploy/container/Dockerfile (a test checks that the Dockerfile says the
// same).
const (
	// BinaryPath is where the vane binary lives in the image.
	BinaryPath = "/vane"
	// User is the unprivileged user and group the image runs as (the
	// Deployment's runAsUser and runAsGroup).
	User = "65532:65532"
	// ConfigPath is where the image's command reads vane.yaml (the
	// Deployment mounts its ConfigMap there).
	ConfigPath = "/etc/vane/vane.yaml"
	// Source is the repository the image is built from.
	Source = "https://github.com/vaneproj/vane"
)

// Platform is an operating system and CPU architecture, as GOOS and GOARCH.
type Platform struct {
	OS   string
	Arch string
}

// String returns "os/arch".
func (p Platform) String() string { return p.OS + "/" + p.Arch }

// ParsePlatform reads "os/arch", e.g. "linux/arm64". The image is a Linux
// image, so the OS must be linux.
func ParsePlatform(s string) (Platform, error) {
	goos, arch, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok || goos == "" || arch == "" || strings.Contains(arch, "/") {
		return Platform{}, fmt.Errorf("platform %q: want os/arch, e.g. linux/amd64", s)
	}
	if goos != "linux" {
		return Platform{}, fmt.Errorf("platform %q: the image runs on linux only", s)
	}
	return Platform{OS: goos, Arch: arch}, nil
}

// Metadata is what the image says about itself.
type Metadata struct {
	// Version is vane's version (`vane version` prints it).
	Version string
	// Revision is the VCS revision the binary is built from.
	Revision string
	// Created is every timestamp in the image: the config's, the history's
	// and the layer's files'. SOURCE_DATE_EPOCH, for reproducible builds.
	Created time.Time
}

// Entrypoint returns the image's entrypoint.
func Entrypoint() []string { return []string{BinaryPath} }

// Cmd returns the image's default arguments.
func Cmd() []string { return []string{"run", "-c", ConfigPath} }

// ExposedPorts returns the image's exposed ports: the HTTP API and xDS.
func ExposedPorts() []string { return []string{"8080/tcp", "18000/tcp"} }

// Labels returns the image's org.opencontainers.image labels.
func Labels(m Metadata) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "vane",
		"org.opencontainers.image.description": "Vane: SLO-driven canary releases and autoscaling through Envoy's xDS API",
		"org.opencontainers.image.version":     m.Version,
		"org.opencontainers.image.revision":    m.Revision,
		"org.opencontainers.image.source":      Source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     m.Created.UTC().Format(time.RFC3339),
	}
}

// Layer returns the image's only layer: a /tmp directory anyone may write
// (mode 1777, as on any Linux system, whatever user the Pod runs as: the
// SLO rule files go there, and what vane.yaml puts there) and the binary
// at /vane (mode 0755, owned by root so that the process cannot rewrite
// it).
// Every entry's time is created. The layer is gzip-compressed at the
// default level; its compressed form is computed once.
func Layer(binary []byte, created time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	created = created.UTC().Truncate(time.Second)
	entries := []struct {
		hdr  tar.Header
		data []byte
	}{
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}},
		{hdr: tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(BinaryPath, "/"), Mode: 0o755, Size: int64(len(binary))}, data: binary},
	}
	for _, e := range entries {
		e.hdr.ModTime = created
		e.hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return nil, fmt.Errorf("ociimage: layer entry %s: %w", e.hdr.Name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("ociimage: layer entry %s: %w", e.hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("ociimage: layer: %w", err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.DefaultCompression), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("ociimage: layer: %w", err)
	}
	return l, nil
}

// Image returns the single-platform image: binary as /vane in one layer on
// an empty base, with OCI media types, the user, entrypoint, command,
// ports and labels above, and no environment.
func Image(binary []byte, p Platform, m Metadata) (v1.Image, error) {
	layer, err := Layer(binary, m.Created)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: m.Created.UTC().Truncate(time.Second)}
	ports := make(map[string]struct{})
	for _, port := range ExposedPorts() {
		ports[port] = struct{}{}
	}
	cfg := &v1.ConfigFile{
		Architecture: p.Arch,
		OS:           p.OS,
		Created:      created,
		Config: v1.Config{
			User:         User,
			Entrypoint:   Entrypoint(),
			Cmd:          Cmd(),
			ExposedPorts: ports,
			Labels:       Labels(m),
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(base, cfg)
	if err != nil {
		return nil, fmt.Errorf("ociimage: image config: %w", err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: created, CreatedBy: "vane-image: COPY vane /vane (static, CGO_ENABLED=0 -trimpath); /tmp 1777", Comment: "built by github.com/vaneproj/vane/cmd/vane-image"},
	})
	if err != nil {
		return nil, fmt.Errorf("ociimage: image layer: %w", err)
	}
	return img, nil
}

// PlatformImage is one platform's image of an index.
type PlatformImage struct {
	Platform Platform
	Image    v1.Image
}

// Index returns the OCI image index of the platforms' images, in the
// given order, annotated with the version and revision.
func Index(images []PlatformImage, m Metadata) v1.ImageIndex {
	adds := make([]mutate.IndexAddendum, 0, len(images))
	for _, pi := range images {
		adds = append(adds, mutate.IndexAddendum{
			Add: pi.Image,
			Descriptor: v1.Descriptor{
				MediaType: types.OCIManifestSchema1,
				Platform:  &v1.Platform{OS: pi.Platform.OS, Architecture: pi.Platform.Arch},
			},
		})
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx, adds...)
	return mutate.Annotations(idx, map[string]string{
		"org.opencontainers.image.version":  m.Version,
		"org.opencontainers.image.revision": m.Revision,
		"org.opencontainers.image.source":   Source,
		"org.opencontainers.image.created":  m.Created.UTC().Format(time.RFC3339),
	}).(v1.ImageIndex)
}
