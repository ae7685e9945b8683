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
	var out []manifest.Descriptor
	for _, e := range idx.Manifests {
		if !manifest.IsManifest(e.MediaType) && !manifest.IsIndex(e.MediaType) {
			continue
		}
		doc, err := manifest.FetchDocument(ctx, r, e)
		if err != nil {
			return nil, fmt.Errorf("layout: referrers of %s: %w", desc.Digest, err)
		}
		subject, entry := referrerEntry(doc)
		if subject != nil && subject.Digest == desc.Digest && (artifactType == "" || entry.ArtifactType == artifactType) {
			out = append(out, entry)
		}
	}
	return out, nil
}

// Referrers is [Reader.Referrers].
func (l *Layout) Referrers(ctx context.Context, desc manifest.Descriptor, artifactType string) ([]manifest.Descriptor, error) {
	return l.r.Referrers(ctx, desc, artifactType)
}

// referrerEntry is doc.Subject, without the ref name annotation: a
// referrer is listed in index.json, never tagged by its own annotations.
func referrerEntry(doc *manifest.Document) (*manifest.Descriptor, manifest.Descriptor) {
	subject, d := doc.Subject()
	delete(d.Annotations, RefNameAnnotation)
	if len(d.Annotations) == 0 {
		d.Annotations = nil
	}
	return subject, d
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
	if subject, entry := referrerEntry(doc); subject != nil {
		return l.AddDescriptor(ctx, entry)
	}
	return nil
}
