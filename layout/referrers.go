package layout

import (
	"context"
	"fmt"

	"github.com/skiffoci/skiff/manifest"
)

var _ manifest.ReferrersLister = (*Layout)(nil)

// Referrers lists the manifests in index.json whose subject is desc,
// optionally only those of artifactType, with their artifact types. A
// layout keeps what refers to its images in index.json (pushed referrers
// are added there, untagged), as ORAS does.
func (r *Reader) Referrers(ctx context.Context, desc manifest.Descriptor, artifactType string) ([]manifest.Descriptor, error) {
	idx, err := r.Index()
	if err != nil {
		return nil, err
	}
	out, err := manifest.ReferrersAmong(ctx, r, idx.Manifests, desc, artifactType)
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	return out, nil
}

// Referrers is [Reader.Referrers].
func (l *Layout) Referrers(ctx context.Context, desc manifest.Descriptor, artifactType string) ([]manifest.Descriptor, error) {
	return l.r.Referrers(ctx, desc, artifactType)
}

// listReferrer adds the manifest or index just pushed as desc to
// index.json, untagged, when it has a subject: that is where Referrers
// finds it.
func (l *Layout) listReferrer(ctx context.Context, desc manifest.Descriptor) error {
	if !manifest.IsManifest(desc.MediaType) && !manifest.IsIndex(desc.MediaType) {
		return nil
	}
	doc, err := manifest.FetchDocument(ctx, l.r, desc)
	if err != nil {
		return err
	}
	if subject, entry := doc.Referrer(); subject != nil {
		return l.AddDescriptor(ctx, entry)
	}
	return nil
}
