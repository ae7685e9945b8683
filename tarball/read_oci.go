package tarball

import (
	"context"
	"fmt"
	"slices"

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
	tags, refName := annotationTags(d.Annotations), d.Annotations[AnnotationRefName]
	if i, ok := seen[d.Digest]; ok {
		r.addNames(i, tags, refName)
		return nil
	}
	if _, err := r.lookup(d); err != nil {
		return err
	}
	attached := !manifest.IsManifest(d.MediaType) && !manifest.IsIndex(d.MediaType)
	if !attached {
		doc, err := manifest.FetchDocument(context.Background(), r, d)
		if err != nil {
			return err
		}
		attached = doc.Attached()
		r.rememberConfigs(doc)
	}
	seen[d.Digest] = len(r.images)
	desc := manifest.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, Platform: d.Platform, ArtifactType: d.ArtifactType}
	r.images = append(r.images, ImageInfo{Descriptor: desc, Attached: attached})
	r.addNames(len(r.images)-1, tags, refName)
	return nil
}

// addNames gives image i the tags and ref name of one more index.json
// entry. An image every name of which is a cosign tag is attached.
func (r *Reader) addNames(i int, tags []string, refName string) {
	im := &r.images[i]
	im.Tags = mergeTags(im.Tags, tags)
	if refName != "" && !slices.Contains(im.RefNames, refName) {
		im.RefNames = append(im.RefNames, refName)
	}
	cosign := len(im.RefNames) > 0
	for _, n := range im.RefNames {
		cosign = cosign && manifest.IsCosignTag(n)
	}
	im.Attached = im.Attached || cosign
}

// rememberConfigs records the config digest of the image the next
// r.images entry will be, and of each manifest of it (an index) that the
// tarball holds: manifest.json names them by config, as containerd and
// Docker 25 write it for the platform they exported.
func (r *Reader) rememberConfigs(doc *manifest.Document) {
	i := len(r.images)
	if doc.Manifest != nil {
		r.byConfig[doc.Manifest.Config.Digest] = i
		return
	}
	for _, child := range doc.Index.Manifests {
		if !manifest.IsManifest(child.MediaType) {
			continue
		}
		if _, err := r.lookup(child); err != nil {
			continue // a platform the tarball lacks
		}
		cd, err := manifest.FetchDocument(context.Background(), r, child)
		if err != nil || cd.Manifest == nil {
			continue
		}
		if _, ok := r.byConfig[cd.Manifest.Config.Digest]; !ok {
			r.byConfig[cd.Manifest.Config.Digest] = i
		}
	}
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
