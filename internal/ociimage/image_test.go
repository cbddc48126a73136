package ociimage

import (
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestIndexOfTwoPlatforms checks the multi-platform index on two small
// payloads standing for the binaries (cmd/vane-image's TestImage builds
// and runs the real one): one OCI image per platform, in order, with its
// platform, through an OCI layout and back; the same inputs give the same
// digests, another time or binary another.
func TestIndexOfTwoPlatforms(t *testing.T) {
	meta := Metadata{Version: "v1.2.3", Revision: "abc", Created: time.Unix(1700000000, 0)}
	amd64, arm64 := Platform{OS: "linux", Arch: "amd64"}, Platform{OS: "linux", Arch: "arm64"}
	build := func(m Metadata, amd64Bin string) v1.ImageIndex {
		t.Helper()
		var images []PlatformImage
		for _, pb := range []struct {
			p   Platform
			bin string
		}{{amd64, amd64Bin}, {arm64, "arm64 payload"}} {
			img, err := Image([]byte(pb.bin), pb.p, m)
			if err != nil {
				t.Fatal(err)
			}
			images = append(images, PlatformImage{Platform: pb.p, Image: img})
		}
		return Index(images, m)
	}
	digest := func(idx v1.ImageIndex) v1.Hash {
		t.Helper()
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	idx := build(meta, "amd64 payload")
	want := digest(idx)
	if got := digest(build(meta, "amd64 payload")); got != want {
		t.Errorf("the same inputs gave index %s, then %s", want, got)
	}
	later := meta
	later.Created = meta.Created.Add(time.Second)
	if digest(build(later, "amd64 payload")) == want || digest(build(meta, "other payload")) == want {
		t.Errorf("another time or another binary gave the same index %s", want)
	}

	dir := filepath.Join(t.TempDir(), "oci")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(idx); err != nil {
		t.Fatal(err)
	}
	back, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := back.IndexManifest()
	if err != nil || len(top.Manifests) != 1 || top.Manifests[0].Digest != want {
		t.Fatalf("the layout's index.json: %+v (%v), want the index %s", top, err, want)
	}
	read, err := back.ImageIndex(want)
	if err != nil {
		t.Fatal(err)
	}
	m, err := read.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex || len(m.Manifests) != 2 || m.Annotations["org.opencontainers.image.version"] != "v1.2.3" {
		t.Fatalf("index %+v, want an OCI index of 2 images annotated with the version", m)
	}
	for i, p := range []Platform{amd64, arm64} {
		desc := m.Manifests[i]
		if desc.MediaType != types.OCIManifestSchema1 || desc.Platform == nil || desc.Platform.OS != p.OS || desc.Platform.Architecture != p.Arch {
			t.Fatalf("index entry %d: %+v, want an OCI image for %s", i, desc, p)
		}
		img, err := read.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS != p.OS || cf.Architecture != p.Arch || cf.Config.User != User || cf.Config.Labels["org.opencontainers.image.created"] != "2023-11-14T22:13:20Z" {
			t.Errorf("%s image config: %s/%s user %q labels %v", p, cf.OS, cf.Architecture, cf.Config.User, cf.Config.Labels)
		}
	}
}
