// Package ociimage builds Vane's container image without a container
// engine: the static vane binary (CGO_ENABLED=0, -trimpath) alone in one
// layer on an empty base ("FROM scratch"), with the user, entrypoint,
// command, ports and org.opencontainers.image labels that
// deploy/container/Dockerfile also declares. It uses
// github.com/google/go-containerregistry to write an OCI image layout with
// a multi-platform index (for `crane push`, `skopeo copy oci:…`), a
// `docker save`-style tarball per platform (for `docker load` and
// `podman load`), and optionally to push the index to a registry.
//
// Builds are reproducible: every timestamp in the image is Metadata.Created
// (SOURCE_DATE_EPOCH, which `make image` sets to the commit's time), so the
// same commit and Go toolchain give the same digests.
//
// cmd/vane-image is its command line; `make image` runs it.
package ociimage
