package manifest

import (
	"context"
	"fmt"
	"maps"
	"strings"
)

// ReferrersLister is implemented by stores that can list the manifests
// whose subject is desc: a registry through the referrers API (or its tag
// schema fallback).
type ReferrersLister interface {
	Referrers(ctx context.Context, desc Descriptor, artifactType string) ([]Descriptor, error)
}

// CosignSuffixes are the tags cosign gives what it attaches to an image
// whose digest is sha256:HEX: "sha256-HEX.sig" (signatures), ".att"
// (attestations) and ".sbom" (SBOMs), in that order.
var CosignSuffixes = []string{".sig", ".att", ".sbom"}

// CosignTag returns the tag under which cosign keeps what it attaches to
// the content d names, with suffix ".sig", ".att" or ".sbom":
// "sha256-HEX.sig". It fails for a malformed digest, and for a digest
// whose tag would be longer than the 128 characters a tag may have (a
// sha512 one): cosign can attach nothing to it by tag.
func CosignTag(d Digest, suffix string) (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	tag := d.Algorithm() + "-" + d.Hex() + suffix
	if len(tag) > 128 {
		return "", fmt.Errorf("manifest: %s: the cosign tag %s-…%s would be longer than 128 characters", truncate(string(d), 80), d.Algorithm(), truncate(suffix, 20))
	}
	return tag, nil
}

// Subject returns a copy of the subject d refers to, if it has one, and the
// descriptor that lists d among that subject's referrers: d's digest,
// size and media type, its artifact type (the config's media type when
// it names none) and its annotations.
func (d *Document) Subject() (*Descriptor, Descriptor) {
	entry := d.Descriptor()
	var subject *Descriptor
	switch {
	case d.Manifest != nil:
		subject, entry.ArtifactType, entry.Annotations = cloneSubject(d.Manifest.Subject), d.Manifest.ArtifactType, maps.Clone(d.Manifest.Annotations)
		if entry.ArtifactType == "" {
			entry.ArtifactType = d.Manifest.Config.MediaType
		}
	case d.Index != nil:
		subject, entry.ArtifactType, entry.Annotations = cloneSubject(d.Index.Subject), d.Index.ArtifactType, maps.Clone(d.Index.Annotations)
	}
	return subject, entry
}

// ReferrersAmong lists, from entries (the manifests a layout's or an
// archive's index.json names), those whose subject is desc, optionally
// only those of artifactType, each as Referrer describes it. Stores
// without a referrers API implement ReferrersLister with it.
func ReferrersAmong(ctx context.Context, f Fetcher, entries []Descriptor, desc Descriptor, artifactType string) ([]Descriptor, error) {
	var out []Descriptor
	for _, e := range entries {
		if !IsManifest(e.MediaType) && !IsIndex(e.MediaType) {
			continue
		}
		doc, err := FetchDocument(ctx, f, e)
		if err != nil {
			return nil, fmt.Errorf("manifest: referrers of %s: %w", desc.Digest, err)
		}
		subject, entry := doc.Referrer()
		if subject != nil && subject.Digest == desc.Digest && (artifactType == "" || entry.ArtifactType == artifactType) {
			out = append(out, entry)
		}
	}
	return out, nil
}

// Referrer is Subject, with the entry as the referrers API lists it:
// without the ref name annotation, since a referrer is listed, never
// tagged by its own annotations.
func (d *Document) Referrer() (*Descriptor, Descriptor) {
	subject, entry := d.Subject()
	delete(entry.Annotations, "org.opencontainers.image.ref.name")
	if len(entry.Annotations) == 0 {
		entry.Annotations = nil
	}
	return subject, entry
}

// IsCosignTag reports whether tag is one cosign gives what it attaches to
// an image: "sha256-<64 hex>" followed by ".sig", ".att" or ".sbom".
func IsCosignTag(tag string) bool {
	for _, suffix := range CosignSuffixes {
		if hex, ok := strings.CutSuffix(tag, suffix); ok {
			d := Digest(strings.Replace(hex, "-", ":", 1))
			return strings.HasPrefix(hex, "sha256-") && d.Validate() == nil
		}
	}
	return false
}

// Attached reports whether d is attached to another image rather than an
// image of its own: it names a subject (a referrer), or it is an artifact,
// whose artifactType or config type is not an image config's. An image
// whose descriptor repeats its config type as artifactType, as crane's
// indexes do, is an image.
func (d *Document) Attached() bool {
	switch {
	case d.Manifest != nil:
		m := d.Manifest
		return m.Subject != nil || !isImageConfig(m.ArtifactType) || !isImageConfig(m.Config.MediaType)
	case d.Index != nil:
		return d.Index.Subject != nil || !isImageConfig(d.Index.ArtifactType)
	}
	return false
}

// isImageConfig reports whether mt is empty or the type of an image config.
func isImageConfig(mt string) bool {
	return mt == "" || mt == MediaTypeOCIConfig || mt == MediaTypeDockerConfig
}
