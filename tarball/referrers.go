package tarball

import (
	"context"
	"fmt"

	"github.com/skiffoci/skiff/manifest"
)

var _ manifest.ReferrersLister = (*Reader)(nil)

// Referrers lists the manifests the tarball's index.json names whose
// subject is desc, optionally only those of artifactType: an OCI archive
// keeps what refers to its images there, untagged, as a layout does.
// Tags cosign gives what it attaches (sha256-HEX.sig) are found by Resolve.
func (r *Reader) Referrers(ctx context.Context, desc manifest.Descriptor, artifactType string) ([]manifest.Descriptor, error) {
	entries := make([]manifest.Descriptor, len(r.images))
	for i, im := range r.images {
		entries[i] = im.Descriptor
	}
	out, err := manifest.ReferrersAmong(ctx, r, entries, desc, artifactType)
	if err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	return out, nil
}
