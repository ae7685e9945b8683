package tarball

import (
	"context"
	"fmt"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

// Annotations that name the images of an OCI layout's index.json.
const (
	AnnotationRefName        = "org.opencontainers.image.ref.name"
	AnnotationContainerdName = "io.containerd.image.name"
)

// loadIndexJSON adds the images an OCI layout's index.json lists. Entries
// with the same digest (Docker writes one per tag) become one image. The
// config digest of each image manifest is remembered, so that
// manifest.json's tags can be matched to it.
func (r *Reader) loadIndexJSON() error {
	raw, _, err := r.readFile("index.json", manifest.MaxManifestSize)
	if err != nil {
		return err
	}
	doc, err := manifest.Parse(raw, "")
	if err != nil {
		return fmt.Errorf("tarball: index.json: %w", err)
	}
	if doc.Index == nil {
		return fmt.Errorf("tarball: index.json is a %s, not an index", doc.MediaType)
	}
	if len(doc.Index.Manifests) > maxImages {
		return fmt.Errorf("tarball: index.json lists more than %d images", maxImages)
	}
	seen := make(map[manifest.Digest]int)
	for _, d := range doc.Index.Manifests {
		if err := r.addOCIImage(d, seen); err != nil {
			return fmt.Errorf("tarball: index.json entry %s: %w", d.Digest, err)
		}
	}
	return nil
}

func (r *Reader) addOCIImage(d manifest.Descriptor, seen map[manifest.Digest]int) error {
	tags := annotationTags(d.Annotations)
	if i, ok := seen[d.Digest]; ok {
		r.images[i].Tags = mergeTags(r.images[i].Tags, tags)
		return nil
	}
	if _, err := r.lookup(d); err != nil {
		return err
	}
	if manifest.IsManifest(d.MediaType) {
		doc, err := manifest.FetchDocument(context.Background(), r, d)
		if err != nil {
			return err
		}
		if doc.Manifest == nil {
			return fmt.Errorf("tarball: %s is not an image manifest", d.Digest)
		}
		r.byConfig[doc.Manifest.Config.Digest] = len(r.images)
	}
	seen[d.Digest] = len(r.images)
	desc := manifest.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, Platform: d.Platform, ArtifactType: d.ArtifactType}
	r.images = append(r.images, ImageInfo{Tags: mergeTags(nil, tags), Descriptor: desc})
	return nil
}

// annotationTags returns the name an index.json entry gives its image: the
// containerd image name in its familiar form, else the ref.name as is.
func annotationTags(a map[string]string) []string {
	if n := a[AnnotationContainerdName]; n != "" {
		if ref, err := reference.Parse(n); err == nil {
			return []string{ref.Familiar()}
		}
		return []string{n}
	}
	if n := a[AnnotationRefName]; n != "" {
		return []string{n}
	}
	return nil
}

// mergeTags appends to tags those of more it does not already hold, in
// any spelling of the same reference.
func mergeTags(tags, more []string) []string {
	seen := make(map[string]bool, len(tags)+len(more))
	for _, t := range tags {
		seen[tagKey(t)] = true
	}
	for _, t := range more {
		if k := tagKey(t); !seen[k] {
			seen[k] = true
			tags = append(tags, t)
		}
	}
	return tags
}

// tagKey is the same for every spelling of one reference.
func tagKey(t string) string {
	if ref, err := reference.Parse(t); err == nil {
		return ref.String()
	}
	return "\x00" + t
}
