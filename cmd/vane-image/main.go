// Command vane-image builds Vane's container image without a container
// engine: the static vane binary on an empty base, for one or more Linux
// platforms, as an OCI image layout with a multi-platform index and a
// `docker load` tarball per platform; with -push it also pushes the index
// to a registry. `make image` runs it from the module's root:
//
//	go run ./cmd/vane-image -platforms linux/amd64,linux/arm64 \
//	    -version v0.4.0 -revision $(git rev-parse HEAD) -out bin/image
//
// Every timestamp in the image is SOURCE_DATE_EPOCH (-source-date-epoch,
// default the environment's, else 0), so the same commit gives the same
// digests. See package internal/ociimage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vaneproj/vane/internal/ociimage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "vane-image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vane-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	platforms := fs.String("platforms", "linux/amd64", "comma-separated os/arch list, e.g. linux/amd64,linux/arm64")
	version := fs.String("version", "dev", "vane's version (main.version, the image's version label and default tag)")
	revision := fs.String("revision", "", "VCS revision (the image's revision label)")
	epoch := fs.String("source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "Unix time of every timestamp in the image (default $SOURCE_DATE_EPOCH, else 0)")
	out := fs.String("out", "bin/image", "output directory")
	tag := fs.String("tag", "", "name the docker load tarballs give the image (default vane:VERSION)")
	push := fs.String("push", "", "registry reference to push the index to, e.g. registry.example.com/vane:v0.4.0")
	dir := fs.String("C", ".", "the vane module's root directory")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var ps []ociimage.Platform
	for _, s := range strings.Split(*platforms, ",") {
		p, err := ociimage.ParsePlatform(s)
		if err != nil {
			return fmt.Errorf("-platforms: %w", err)
		}
		ps = append(ps, p)
	}
	created := time.Unix(0, 0).UTC()
	if *epoch != "" {
		sec, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil || sec < 0 {
			return fmt.Errorf("-source-date-epoch %q: want a Unix time in seconds", *epoch)
		}
		created = time.Unix(sec, 0).UTC()
	}
	res, err := ociimage.Build(ctx, ociimage.Options{
		Dir:       *dir,
		Platforms: ps,
		Metadata:  ociimage.Metadata{Version: *version, Revision: *revision, Created: created},
		OutDir:    *out,
		Tag:       *tag,
		Push:      *push,
		Logger:    slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	for _, p := range res.Platforms {
		fmt.Fprintf(stdout, "%-12s %s  binary %.1f MB, layer %.1f MB (compressed)  %s\n",
			p.Platform, p.Digest, float64(p.BinarySize)/1e6, float64(p.LayerSize)/1e6, p.Tarball)
	}
	fmt.Fprintf(stdout, "index        %s  %s\n", res.Index, res.Layout)
	if res.Pushed != "" {
		fmt.Fprintf(stdout, "pushed       %s\n", res.Pushed)
	}
	return nil
}

// jsonResult is -json's output.
type jsonResult struct {
	Index     string         `json:"index"`
	Layout    string         `json:"layout"`
	Pushed    string         `json:"pushed,omitempty"`
	Platforms []jsonPlatform `json:"platforms"`
}

type jsonPlatform struct {
	Platform    string `json:"platform"`
	Digest      string `json:"digest"`
	Binary      string `json:"binary"`
	Tarball     string `json:"tarball"`
	BinaryBytes int64  `json:"binary_bytes"`
	LayerBytes  int64  `json:"layer_bytes"`
}

func writeJSON(w io.Writer, res *ociimage.Result) error {
	out := jsonResult{Index: res.Index.String(), Layout: res.Layout, Pushed: res.Pushed, Platforms: []jsonPlatform{}}
	for _, p := range res.Platforms {
		out.Platforms = append(out.Platforms, jsonPlatform{
			Platform: p.Platform.String(), Digest: p.Digest.String(), Binary: p.Binary, Tarball: p.Tarball,
			BinaryBytes: p.BinarySize, LayerBytes: p.LayerSize,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
