package ociimage

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// pushIndex pushes the index and its images to ref, with the credentials
// `docker login` (or crane auth login) stored in ~/.docker/config.json.
func pushIndex(ctx context.Context, ref name.Reference, idx v1.ImageIndex) error {
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("ociimage: pushing to %s: %w", ref, err)
	}
	return nil
}
