package ociimage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// CompileOptions says which static binary to compile.
type CompileOptions struct {
	// Dir is the module's root directory (default: the current one).
	Dir string
	// Package is the main package, relative to Dir (default ./cmd/vane).
	Package string
	// Platform is the GOOS and GOARCH to compile for.
	Platform Platform
	// Version is set as main.version (`vane version` prints it).
	Version string
	// Out is the binary's path.
	Out string
}

// Compile runs `go build` for a static, reproducible binary:
// CGO_ENABLED=0 (no C library is linked, so it runs on scratch),
// -trimpath (no path of the building machine in it), -buildvcs=false (the
// checkout's state, such as an untracked file, stays out of it: the
// version and the image's labels say where it comes from), and -ldflags
// "-s -w -X main.version=…". The go command is the one on PATH, with the
// environment's other settings (GOFLAGS, GOAMD64, the build cache).
func Compile(ctx context.Context, o CompileOptions) error {
	if err := checkVersion(o.Version); err != nil {
		return err
	}
	if o.Package == "" {
		o.Package = "./cmd/vane"
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("ociimage: compile: the go command is not on PATH: %w", err)
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X main.version="+o.Version, "-o", o.Out, o.Package)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+o.Platform.OS, "GOARCH="+o.Platform.Arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ociimage: compile %s for %s: %w\n%s", o.Package, o.Platform, err, out)
	}
	return nil
}

// versionRE is what a version may hold: it goes into -ldflags and an
// image tag.
var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]*$`)

func checkVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf("ociimage: version %q: want letters, digits and . _ + - (e.g. v0.4.0 or a commit)", v)
	}
	return nil
}

// Options says what Build builds and where it writes it.
type Options struct {
	// Dir is the vane module's root directory (default: the current one).
	Dir string
	// Package is the main package, relative to Dir (default ./cmd/vane).
	Package string
	// Platforms are the index's platforms, in order (default linux/amd64).
	Platforms []Platform
	// Metadata are the version, revision and timestamp.
	Metadata Metadata
	// OutDir receives <os>-<arch>/vane (the binaries),
	// vane-<os>-<arch>.tar (`docker load` tarballs) and oci/ (the OCI
	// image layout with the index).
	OutDir string
	// Tag is the name the tarballs carry, which `docker load` gives the
	// image (default vane:<version>).
	Tag string
	// Push, if set, is a registry reference (registry/repo:tag) the index
	// is pushed to, with the credentials of ~/.docker/config.json.
	Push string
	// Logger receives the progress; nil discards it.
	Logger *slog.Logger
}

// PlatformResult is what Build made for one platform.
type PlatformResult struct {
	Platform Platform
	// Digest is the platform image's manifest digest.
	Digest v1.Hash
	// Binary and Tarball are the paths of the binary and of the
	// `docker load` tarball.
	Binary, Tarball string
	// BinarySize is the binary's size in bytes; LayerSize the compressed
	// layer's, i.e. what a registry stores and a node pulls.
	BinarySize, LayerSize int64
}

// Result is what Build made.
type Result struct {
	// Index is the OCI image index's digest (what `crane push` and Push
	// publish; a reference by digest pins every platform).
	Index v1.Hash
	// Layout is the OCI image layout directory.
	Layout string
	// Platforms are the per-platform results, in the order of
	// Options.Platforms.
	Platforms []PlatformResult
	// Pushed is the pushed reference, by digest, when Options.Push is set.
	Pushed string
}

// Build compiles the binary for each platform, makes each platform's
// image, writes them to Options.OutDir and, if asked, pushes the index.
// The compiles run one after the other (each `go build` uses every core)
// and log their progress every 30 s, as they take minutes on a cold
// build cache.
func Build(ctx context.Context, o Options) (*Result, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.OutDir == "" {
		return nil, errors.New("ociimage: no output directory")
	}
	if err := checkVersion(o.Metadata.Version); err != nil {
		return nil, err
	}
	if len(o.Platforms) == 0 {
		o.Platforms = []Platform{{OS: "linux", Arch: "amd64"}}
	}
	if err := checkPlatforms(ctx, o.Platforms); err != nil {
		return nil, err
	}
	tagName := o.Tag
	if tagName == "" {
		tagName = "vane:" + tagSafe(o.Metadata.Version)
	}
	tag, err := name.NewTag(tagName)
	if err != nil {
		return nil, fmt.Errorf("ociimage: tag %q: %w", tagName, err)
	}
	var push name.Reference
	if o.Push != "" {
		if push, err = name.ParseReference(o.Push); err != nil {
			return nil, fmt.Errorf("ociimage: push reference %q: %w", o.Push, err)
		}
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("ociimage: %w", err)
	}

	res := &Result{Layout: filepath.Join(o.OutDir, "oci")}
	var images []PlatformImage
	for _, p := range o.Platforms {
		pr := PlatformResult{
			Platform: p,
			Binary:   filepath.Join(o.OutDir, p.OS+"-"+p.Arch, "vane"),
			Tarball:  filepath.Join(o.OutDir, "vane-"+p.OS+"-"+p.Arch+".tar"),
		}
		if err := compileLogged(ctx, log, CompileOptions{Dir: o.Dir, Package: o.Package, Platform: p, Version: o.Metadata.Version, Out: pr.Binary}); err != nil {
			return nil, err
		}
		bin, err := os.ReadFile(pr.Binary)
		if err != nil {
			return nil, fmt.Errorf("ociimage: %w", err)
		}
		pr.BinarySize = int64(len(bin))
		log.Info("Compressing the layer", "platform", p.String(), "binary_bytes", pr.BinarySize)
		img, err := Image(bin, p, o.Metadata)
		if err != nil {
			return nil, err
		}
		if pr.Digest, err = img.Digest(); err != nil {
			return nil, fmt.Errorf("ociimage: %s image: %w", p, err)
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, fmt.Errorf("ociimage: %s image: %w", p, err)
		}
		if pr.LayerSize, err = layers[0].Size(); err != nil {
			return nil, fmt.Errorf("ociimage: %s layer: %w", p, err)
		}
		if err := tarball.WriteToFile(pr.Tarball, tag, img); err != nil {
			return nil, fmt.Errorf("ociimage: writing %s: %w", pr.Tarball, err)
		}
		log.Info("Image built", "platform", p.String(), "digest", pr.Digest.String(),
			"binary_bytes", pr.BinarySize, "layer_bytes", pr.LayerSize, "tarball", pr.Tarball)
		res.Platforms = append(res.Platforms, pr)
		images = append(images, PlatformImage{Platform: p, Image: img})
	}

	idx := Index(images, o.Metadata)
	if res.Index, err = idx.Digest(); err != nil {
		return nil, fmt.Errorf("ociimage: index: %w", err)
	}
	// A layout written over an old one would list both indexes.
	if err := os.RemoveAll(res.Layout); err != nil {
		return nil, fmt.Errorf("ociimage: %w", err)
	}
	lp, err := layout.Write(res.Layout, empty.Index)
	if err != nil {
		return nil, fmt.Errorf("ociimage: OCI layout %s: %w", res.Layout, err)
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag.TagStr(),
	})); err != nil {
		return nil, fmt.Errorf("ociimage: OCI layout %s: %w", res.Layout, err)
	}
	log.Info("OCI layout written", "dir", res.Layout, "index", res.Index.String())

	if push != nil {
		start := time.Now()
		log.Info("Pushing", "ref", push.String())
		if err := pushIndex(ctx, push, idx); err != nil {
			return nil, err
		}
		res.Pushed = push.Context().Digest(res.Index.String()).String()
		log.Info("Pushed", "ref", res.Pushed, "took", time.Since(start).Round(time.Millisecond).String())
	}
	return res, nil
}

// compileLogged runs Compile, logging every 30 s while it runs.
func compileLogged(ctx context.Context, log *slog.Logger, o CompileOptions) error {
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return fmt.Errorf("ociimage: %w", err)
	}
	start := time.Now()
	log.Info("Compiling vane (the first build for a platform takes minutes)", "platform", o.Platform.String())
	done := make(chan error, 1)
	go func() { done <- Compile(ctx, o) }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
			log.Info("Compiled", "platform", o.Platform.String(), "took", time.Since(start).Round(100*time.Millisecond).String())
			return nil
		case <-tick.C:
			log.Info("Still compiling", "platform", o.Platform.String(), "for", time.Since(start).Round(time.Second).String())
		}
	}
}

// checkPlatforms refuses a platform given twice (its binary and tarball
// would be written over, and the index would list it twice) and one the go
// command cannot build for (`go tool dist list`), before anything is
// written.
func checkPlatforms(ctx context.Context, ps []Platform) error {
	seen := make(map[Platform]bool, len(ps))
	for _, p := range ps {
		if seen[p] {
			return fmt.Errorf("ociimage: platform %s given twice", p)
		}
		seen[p] = true
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("ociimage: the go command is not on PATH: %w", err)
	}
	out, err := exec.CommandContext(ctx, goCmd, "tool", "dist", "list").Output()
	if err != nil {
		return fmt.Errorf("ociimage: go tool dist list: %w", err)
	}
	known := make(map[string]bool)
	for _, l := range strings.Fields(string(out)) {
		known[l] = true
	}
	for _, p := range ps {
		if !known[p.String()] {
			return fmt.Errorf("ociimage: platform %s: the go command cannot build for it (see go tool dist list)", p)
		}
	}
	return nil
}

// tagSafe turns a version into a valid image tag: + is not allowed there.
func tagSafe(v string) string {
	return strings.ReplaceAll(v, "+", "-")
}
