package artifact

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
)

// PushOptions say what an artifact is besides its files. The zero value,
// or nil, pushes an artifact of type MediaTypeUnknownArtifact, made now,
// referring to nothing.
type PushOptions struct {
	// ArtifactType is the manifest's artifactType; "" means
	// MediaTypeUnknownArtifact, as oras gives it.
	ArtifactType string
	// Annotations of the manifest. AnnotationCreated, if given, must be
	// RFC 3339; otherwise it is set to Created.
	Annotations map[string]string
	// Created is when the artifact was made; the zero time means now.
	// It also dates a directory's entries, which otherwise carry the Unix
	// epoch, so the same directory packs into the same layer.
	Created time.Time
	// Subject, if set, is the image the artifact refers to, in the
	// destination: a tag, a digest or a whole reference, as the store's
	// Resolve reads it.
	Subject string
	// TempDir is where a directory's tar+gzip waits while it is pushed;
	// "" means os.TempDir().
	TempDir string
	// Images reaches and writes locations (Client, Jobs, Progress, Sync);
	// nil means images' defaults.
	Images *images.Options
}

// Target is where PushTo writes: a registry.Repository or a layout.Layout.
type Target interface {
	manifest.Store
	manifest.Resolver
}

// Push pushes files as one artifact to dst, spelled as images.ParseLocation
// reads it: a registry reference, "oci:DIR[:TAG]" or
// "oci-archive:FILE[:TAG]" (a new archive holding the artifact alone).
// The tag dst gives names the artifact; without one it is "latest", but an
// artifact with a Subject is left untagged, found through its subject as
// `oras attach` leaves it. It returns the manifest's descriptor.
func Push(ctx context.Context, dst string, files []File, opts *PushOptions) (manifest.Descriptor, error) {
	loc, err := images.ParseLocation(dst)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	opts = opts.orDefault()
	tag, err := pushTag(dst, loc, opts)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	if err := check(files); err != nil {
		return manifest.Descriptor{}, err // before a layout or archive is made
	}
	switch loc.Kind {
	case images.KindRegistry:
		repo := opts.client().Repository(loc.Ref)
		repo.WillPush()
		return PushTo(ctx, repo, tag, files, opts)
	case images.KindOCI:
		l, err := images.CreateLayout(loc.Path, opts.Images)
		if err != nil {
			return manifest.Descriptor{}, err
		}
		return PushTo(ctx, l, tag, files, opts)
	case images.KindOCIArchive:
		return pushArchive(ctx, loc, tag, files, opts)
	}
	return manifest.Descriptor{}, fmt.Errorf("artifact: %s: a docker-archive holds images only; push to a registry, an oci: layout or an oci-archive", loc)
}

// check fails on the first file that cannot be pushed: no title, or
// nothing on disk.
func check(files []File) error {
	for _, f := range files {
		if _, err := f.titleOf(); err != nil {
			return err
		}
		if _, err := os.Stat(f.Path); err != nil {
			return fmt.Errorf("artifact: %w", err)
		}
	}
	return nil
}

// pushTag is the tag the artifact gets at dst.
func pushTag(dst string, loc images.Location, opts *PushOptions) (string, error) {
	switch loc.Kind {
	case images.KindRegistry:
		if loc.Ref.Digest != "" {
			return "", fmt.Errorf("artifact: %s names a digest; push to a tag or a repository", dst)
		}
		if _, err := reference.ParseName(strings.TrimPrefix(dst, "docker://")); err == nil && opts.Subject != "" {
			return "", nil // no tag given
		}
		return loc.Ref.Tag, nil
	case images.KindOCIArchive:
		if opts.Subject != "" {
			return "", fmt.Errorf("artifact: %s: an artifact with a subject goes where its subject is (a registry or an oci: layout); copy both into an oci-archive with images.Copy and Referrers (skiff copy --referrers)", loc)
		}
	}
	if loc.Name == "" && opts.Subject == "" {
		return reference.DefaultTag, nil
	}
	return loc.Name, nil
}

// PushTo pushes files as one artifact to dst, a store the caller holds,
// under tag unless it is "", and returns the manifest's descriptor: the
// blobs first (those dst has are skipped; opts.Images.Jobs at a time),
// the manifest last.
func PushTo(ctx context.Context, dst Target, tag string, files []File, opts *PushOptions) (manifest.Descriptor, error) {
	opts = opts.orDefault()
	src := &localSource{blobs: map[manifest.Digest]blob{}}
	defer src.remove()
	doc, err := src.pack(ctx, dst, files, opts)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	copts := &images.CopyOptions{Tag: tag, Jobs: opts.Images.Jobs, Progress: opts.Images.Progress}
	desc, err := images.CopyDescriptor(ctx, dst, src, doc.Descriptor(), copts)
	if err != nil {
		return desc, err
	}
	desc.ArtifactType = doc.Manifest.ArtifactType
	return desc, nil
}

// pack builds the artifact's manifest from files and opts, and records
// where each of its blobs is.
func (s *localSource) pack(ctx context.Context, dst manifest.Resolver, files []File, opts *PushOptions) (*manifest.Document, error) {
	m := &manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest,
		ArtifactType: cmpOr(opts.ArtifactType, MediaTypeUnknownArtifact), Config: emptyDescriptor()}
	if err := checkMediaType(m.ArtifactType); err != nil {
		return nil, fmt.Errorf("artifact: artifact type: %w", err)
	}
	annotations, err := opts.annotations()
	if err != nil {
		return nil, err
	}
	m.Annotations = annotations
	if m.Layers, err = s.layers(ctx, files, opts); err != nil {
		return nil, err
	}
	if opts.Subject != "" {
		subject, err := dst.Resolve(ctx, opts.Subject)
		if err != nil {
			return nil, fmt.Errorf("artifact: subject %s: %w", opts.Subject, err)
		}
		m.Subject = &manifest.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	}
	s.add(m.Config, blob{data: emptyJSON})
	doc, err := manifest.Marshal(manifest.MediaTypeOCIManifest, m)
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	s.add(doc.Descriptor(), blob{data: doc.Raw})
	return doc, nil
}

// layers describes files as layers, refusing two of one title; with no
// file, the one layer is the empty descriptor.
func (s *localSource) layers(ctx context.Context, files []File, opts *PushOptions) ([]manifest.Descriptor, error) {
	if len(files) == 0 {
		return []manifest.Descriptor{emptyDescriptor()}, nil
	}
	titles := map[string]string{}
	var out []manifest.Descriptor
	for _, f := range files {
		d, l, err := layerOf(ctx, f, opts)
		if err != nil {
			return nil, err
		}
		b := blob{path: f.Path}
		if l != nil {
			s.temps = append(s.temps, l)
			b = blob{layer: l}
		}
		title := d.Annotations[AnnotationTitle]
		if other, dup := titles[title]; dup {
			return nil, fmt.Errorf("artifact: %s and %s would both be titled %q", other, f.Path, title)
		}
		titles[title] = f.Path
		s.add(d, b)
		out = append(out, d)
	}
	return out, nil
}

// annotations returns the manifest's annotations: opts', with
// AnnotationCreated set unless given, which must then be RFC 3339.
func (o *PushOptions) annotations() (map[string]string, error) {
	out := maps.Clone(o.Annotations)
	if out == nil {
		out = map[string]string{}
	}
	if c, ok := out[AnnotationCreated]; ok {
		if _, err := time.Parse(time.RFC3339, c); err != nil {
			return nil, fmt.Errorf("artifact: annotation %s=%q is not an RFC 3339 time", AnnotationCreated, c)
		}
		return out, nil
	}
	out[AnnotationCreated] = o.created().UTC().Format(time.RFC3339)
	return out, nil
}

// orDefault returns o, or the zero options, with Images set.
func (o *PushOptions) orDefault() *PushOptions {
	c := PushOptions{}
	if o != nil {
		c = *o
	}
	if c.Images == nil {
		c.Images = &images.Options{}
	}
	return &c
}

func (o *PushOptions) client() *registry.Client {
	if o.Images.Client != nil {
		return o.Images.Client
	}
	return &registry.Client{}
}

// pushArchive writes a new oci-archive holding the artifact alone: pushed
// into a temporary layout, then copied into the archive as a layout in a
// tar, as images.Copy writes an oci-archive with Referrers.
func pushArchive(ctx context.Context, loc images.Location, tag string, files []File, opts *PushOptions) (manifest.Descriptor, error) {
	tmp, err := os.MkdirTemp(opts.TempDir, "skiff-artifact-*")
	if err != nil {
		return manifest.Descriptor{}, fmt.Errorf("artifact: %w", err)
	}
	defer os.RemoveAll(tmp)
	lay := images.Location{Kind: images.KindOCI, Path: tmp, Name: tag}
	desc, err := Push(ctx, lay.String(), files, opts)
	if err != nil {
		return desc, err
	}
	copts := *opts.Images
	copts.Referrers = true // the layout in a tar: an archive written for docker load holds images only
	if _, err := images.Copy(ctx, lay.String(), loc.String(), &copts); err != nil {
		return desc, fmt.Errorf("artifact: %w", err)
	}
	return desc, nil
}
