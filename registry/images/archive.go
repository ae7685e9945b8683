package images

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// settle decides what is copied of an archive source: the platforms it
// holds whole, as docker load would load them (containerd and Docker 25
// export a whole index with only their platforms), and, into a registry
// or a layout, its plain-tar layers gzip-compressed as docker push does,
// unless o.KeepUncompressed. It tells o.Notes what it chose. Platforms o
// names must be among those held.
func (s *Source) settle(ctx context.Context, dst Location, platforms []manifest.Platform, o *Options) error {
	r := s.archive
	if r == nil {
		return nil
	}
	held, absent, err := r.Loadable(ctx, s.Root)
	if err != nil {
		return fmt.Errorf("images: %s: %w", s.Location, err)
	}
	if len(absent) > 0 {
		have, err := s.entries(ctx, held)
		if err != nil {
			return err
		}
		if len(o.Platforms) > 0 { // the host's by default: what is held serves
			if err := s.wantHeld(platforms, have, absent); err != nil {
				return err
			}
		}
		o.note("%s: index %s names %s, which the archive does not hold; copying %s",
			s.Location, s.Root.Digest, platformNames(absent), platformNames(have))
		s.Root = held
	}
	if dst.Kind != KindRegistry && dst.Kind != KindOCI {
		return nil
	}
	if o.KeepUncompressed {
		o.note("%s: plain-tar layers go as they are, uncompressed", s.Location)
		return nil
	}
	return s.compress(ctx, o)
}

// compress gzip-compresses the plain-tar layers of an archive source.
func (s *Source) compress(ctx context.Context, o *Options) error {
	root, rep, err := s.archive.CompressLayers(ctx, s.Root)
	if err != nil {
		return fmt.Errorf("images: %s: %w", s.Location, err)
	}
	if rep.Layers == 0 {
		return nil
	}
	layers := "plain-tar layers"
	if rep.Layers == 1 {
		layers = "plain-tar layer"
	}
	o.note("%s: gzip-compressed %d %s (%s to %s), as docker push does, so the image's digest is now %s, not %s",
		s.Location, rep.Layers, layers, byteSize(rep.Before), byteSize(rep.After), root.Digest, s.Root.Digest)
	s.Root = root
	return nil
}

// entries returns the entries of held (a manifest, or an index of
// several) with their platforms.
func (s *Source) entries(ctx context.Context, held manifest.Descriptor) ([]manifest.Descriptor, error) {
	if !manifest.IsIndex(held.MediaType) {
		return []manifest.Descriptor{held}, nil
	}
	doc, err := manifest.FetchDocument(ctx, s.Store, held)
	if err != nil {
		return nil, fmt.Errorf("images: %s: %w", s.Location, err)
	}
	return doc.Index.Manifests, nil
}

// wantHeld checks that every platform asked for is one the archive holds.
func (s *Source) wantHeld(platforms []manifest.Platform, have, absent []manifest.Descriptor) error {
	for _, want := range platforms {
		if _, err := manifest.SelectPlatform(&manifest.Index{Manifests: have}, want); err != nil {
			return fmt.Errorf("images: %s: platform %s is not in the archive: it holds %s of index %s (absent: %s): %w",
				s.Location, want, platformNames(have), s.Root.Digest, platformNames(absent), manifest.ErrNotFound)
		}
	}
	return nil
}

// platformNames lists the platforms of index entries: "linux/amd64,
// linux/arm64"; "unknown" for an entry without one.
func platformNames(ds []manifest.Descriptor) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = "unknown"
		if d.Platform != nil {
			names[i] = d.Platform.String()
		}
	}
	return strings.Join(names, ", ")
}

// byteSize formats n bytes for a person: "48.2 MB".
func byteSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// writeArchive writes platform p of the images srcs hold as one
// docker-load tarball (which is also an OCI archive), and returns the
// manifest's descriptor when there is one image.
func writeArchive(ctx context.Context, srcs []*Source, dst Location, p manifest.Platform, o *Options) (manifest.Descriptor, error) {
	var imgs []tarball.Entry
	for _, s := range srcs {
		if manifest.IsIndex(s.Root.MediaType) { // the blobs follow the platform's manifest
			preconnect(ctx, s.Store, (&CopyOptions{Jobs: o.Jobs}).jobs())
		}
		doc, err := s.Manifest(ctx, p)
		if err != nil {
			return manifest.Descriptor{}, err
		}
		if err := imagesOnly(s.Location.String(), doc); err != nil && dst.Kind == KindDockerArchive {
			return manifest.Descriptor{}, err
		}
		imgs = append(imgs, tarball.Entry{Tags: archiveTags(s.Location, dst, len(srcs)), Manifest: doc, Fetcher: s.Store})
	}
	if err := writeTarball(ctx, dst, imgs, o); err != nil {
		return manifest.Descriptor{}, err
	}
	if len(imgs) != 1 {
		return manifest.Descriptor{}, nil
	}
	return imgs[0].Manifest.Descriptor(), nil
}

// writeTarball writes imgs where the archive dst names: a file, a
// directory (o.AsDirectory) or o.Stdout ("-").
func writeTarball(ctx context.Context, dst Location, imgs []tarball.Entry, o *Options) error {
	topts := &tarball.WriteOptions{Jobs: o.Jobs, Sync: o.Sync, Fresh: o.Fresh, PartialMaxAge: o.PartialMaxAge, Progress: o.Progress, RangeMin: o.RangeMin}
	switch {
	case dst.Path == "-" && o.Stdout == nil:
		return errors.New("images: an archive named \"-\" goes to Options.Stdout, which is not set")
	case dst.Path == "-":
		return tarball.Write(ctx, o.Stdout, imgs, topts)
	case o.AsDirectory:
		return tarball.WriteDir(ctx, dst.Path, imgs, topts)
	}
	return tarball.WriteFile(ctx, dst.Path, imgs, topts)
}

// archiveTags names an image in an archive: the destination's name when
// it gives one for a single image, else the source's name.
func archiveTags(src, dst Location, n int) []string {
	if dst.Name != "" && n == 1 {
		return []string{dst.Name}
	}
	switch src.Kind {
	case KindRegistry:
		return []string{src.Ref.String()}
	case KindDockerArchive:
		if src.Name != "" {
			return []string{src.Name}
		}
	}
	return nil
}

// Write stores img at the location dst names, spelled as ParseLocation
// reads it, and returns its manifest's descriptor: into a registry or a
// layout as img.Write does (the base's layers skipped, mounted or
// streamed, never to disk), into an archive as tarball.WriteFile does.
// A registry reference with a digest must name img's.
func Write(ctx context.Context, img *Image, dst string, opts *Options) (manifest.Descriptor, error) {
	loc, err := ParseLocation(dst)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	desc, err := img.Descriptor()
	if err != nil {
		return desc, err
	}
	opts = opts.withClient()
	if doc, err := img.Manifest(); err == nil && loc.Kind == KindDockerArchive {
		if err := imagesOnly("the image", doc); err != nil {
			return desc, err
		}
	}
	if loc.isArchive() {
		return desc, writeTarball(ctx, loc, []tarball.Entry{{Tags: nameOf(loc), Source: img}}, opts)
	}
	if err := checkDigest(loc, desc); err != nil {
		return desc, err
	}
	return opts.store(ctx, loc, func(ctx context.Context, s manifest.Store, tag string) (manifest.Descriptor, error) {
		return img.Write(ctx, s, tag, &WriteOptions{Jobs: opts.Jobs, Progress: opts.Progress})
	})
}

// WriteIndex stores ix at the location dst names, as Write does an
// image: the whole index into a registry or a layout, as ix.Write does;
// into an archive, which holds one platform of an image, the image of
// the platform opts names (the host's by default).
func WriteIndex(ctx context.Context, ix *Index, dst string, opts *Options) (manifest.Descriptor, error) {
	loc, err := ParseLocation(dst)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	if loc.isArchive() {
		p, err := opts.platform()
		if err != nil {
			return manifest.Descriptor{}, err
		}
		img, err := ix.Image(ctx, p)
		if err != nil {
			return manifest.Descriptor{}, err
		}
		return Write(ctx, img, dst, opts)
	}
	doc, err := ix.Document()
	if err != nil {
		return manifest.Descriptor{}, err
	}
	if err := checkDigest(loc, doc.Descriptor()); err != nil {
		return manifest.Descriptor{}, err
	}
	opts = opts.withClient()
	return opts.store(ctx, loc, func(ctx context.Context, s manifest.Store, tag string) (manifest.Descriptor, error) {
		return ix.Write(ctx, s, tag, &WriteOptions{Jobs: opts.Jobs, Progress: opts.Progress})
	})
}

// store opens the registry repository or layout loc names and calls write
// with it and the tag loc gives.
func (o *Options) store(ctx context.Context, loc Location, write func(context.Context, manifest.Store, string) (manifest.Descriptor, error)) (manifest.Descriptor, error) {
	s, tag, done, err := o.destination(loc)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	desc, err := write(ctx, s, tag)
	return desc, done(err)
}

// nameOf is the name an archive location gives its image, if any.
func nameOf(loc Location) []string {
	if loc.Name == "" {
		return nil
	}
	return []string{loc.Name}
}
