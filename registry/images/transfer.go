package images

import (
	"context"
	"errors"
	"fmt"

	"github.com/skiffoci/skiff/internal/tally"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// Copy copies the image or index at src to dst, both spelled as
// ParseLocation reads them, as `skiff copy SRC DST` does, and returns the
// descriptor of the root it stored: between registries blobs stream from
// one to the other, never to disk, and within one registry they are
// mounted; blobs dst has are skipped; an interrupted copy into a layout
// or an archive continues from what arrived (see Transfer).
func Copy(ctx context.Context, src, dst string, opts *Options) (manifest.Descriptor, error) {
	from, err := ParseLocation(src)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	to, err := ParseLocation(dst)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	opts = opts.withClient()
	Preconnect(ctx, []Location{from}, to, opts)
	s, err := OpenSource(ctx, from, opts)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	defer s.Close()
	return Transfer(ctx, []*Source{s}, to, opts)
}

// Transfer copies the images srcs hold to dst and returns the descriptor
// of the root it stored (the manifest written, for one image into an
// archive; nothing, for several). Only an archive takes several images,
// one platform of each, named by their sources; one image goes to a
// registry, a layout or an oci-archive with Referrers, as Copy says.
//
// From an archive, what `docker load` would load is copied: an index
// whose platforms the archive lacks (containerd and Docker 25 export a
// whole index with only their own) becomes the platforms it holds, and
// into a registry or a layout plain-tar layers are gzip-compressed, as
// docker push does, unless opts.KeepUncompressed; opts.Notes is told.
//
// Into a layout, the root is tagged dst.Name, or else the source's tag.
// Partial blobs that interrupted copies left in a layout, and partial
// archives beside an archive, are continued; others older than
// opts.PartialMaxAge are removed (all of them with opts.Fresh), and a
// successful copy into a layout removes what interrupted ones left.
func Transfer(ctx context.Context, srcs []*Source, dst Location, opts *Options) (manifest.Descriptor, error) {
	opts = opts.withClient()
	platforms, err := opts.check(srcs, dst)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	settled := make([]*Source, len(srcs))
	for i, s := range srcs {
		c := *s
		if err := c.settle(ctx, dst, platforms, opts); err != nil {
			return manifest.Descriptor{}, err
		}
		settled[i] = &c
	}
	switch {
	case dst.Kind == KindOCIArchive && opts.Referrers:
		return settled[0].writeLayoutArchive(ctx, dst, platforms, opts)
	case dst.isArchive():
		return writeArchive(ctx, settled, dst, platforms[0], opts)
	}
	return settled[0].copyTo(ctx, dst, platforms, opts)
}

// check refuses what Transfer cannot do and returns the platforms to
// copy: those opts names, else the host's into an archive that holds one
// platform of an image, else all (nil).
func (o *Options) check(srcs []*Source, dst Location) ([]manifest.Platform, error) {
	oneEach := dst.isArchive() && !(dst.Kind == KindOCIArchive && o.Referrers)
	switch {
	case len(srcs) == 0:
		return nil, errors.New("images: nothing to copy")
	case len(srcs) > 1 && !oneEach:
		return nil, fmt.Errorf("images: %s takes one image; only an archive takes several", dst)
	case dst.Kind != KindRegistry && dst.Kind != KindOCI && !dst.isArchive():
		return nil, fmt.Errorf("images: %s: no such kind of location", dst)
	case o.Referrers && dst.Kind == KindDockerArchive:
		return nil, fmt.Errorf("images: %s: a docker-archive holds images only, not what refers to them", dst)
	case o.Referrers && dst.Kind == KindOCIArchive && (dst.Path == "-" || o.AsDirectory):
		return nil, fmt.Errorf("images: %s: an oci-archive with referrers is written to a file", dst)
	case o.OCIMediaTypes && (o.Referrers || dst.Kind != KindRegistry && dst.Kind != KindOCI):
		return nil, fmt.Errorf("images: %s: OCI media types are for a registry or a layout, without referrers", dst)
	case !oneEach:
		return o.Platforms, nil
	case len(o.Platforms) > 1:
		return nil, fmt.Errorf("images: %s holds one platform of an image; %d were asked for", dst, len(o.Platforms))
	}
	p, err := o.platform()
	return []manifest.Platform{p}, err
}

// copyTo copies s to a registry or a layout.
func (s *Source) copyTo(ctx context.Context, dst Location, platforms []manifest.Platform, o *Options) (manifest.Descriptor, error) {
	store, tag, done, err := o.destination(dst)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	root, err := s.copyGraph(ctx, store, dst, tag, platforms, o)
	return root, done(err)
}

// copyGraph copies s's graph into store, named tag, as copyTo does.
func (s *Source) copyGraph(ctx context.Context, store manifest.Store, dst Location, tag string, platforms []manifest.Platform, o *Options) (manifest.Descriptor, error) {
	if tag == "" && dst.Kind == KindOCI {
		tag = defaultTag(s.Location)
	}
	jobs := (&CopyOptions{Jobs: o.Jobs}).jobs()
	s.preconnectIndex(ctx, store, jobs)
	g, err := s.walk(ctx, platforms, o)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	s.preconnectImage(ctx, store, len(g.Blobs), jobs)
	root := g.Root.Descriptor()
	if err := checkDigest(dst, root); err != nil {
		return root, err
	}
	// The events of a blob a layout fetches in ranges come from the
	// layout: they pass through the same counter as the copy's own, so
	// they carry the copy's totals too.
	progress := tally.New(g.Blobs, o.Progress)
	if l, ok := store.(*layout.Layout); ok { // a large blob from a registry comes in ranges
		l.FetchRanges(s.Store, &layout.RangeOptions{Min: o.RangeMin, Jobs: o.Jobs, Progress: progress.Func()})
	}
	copts := &CopyOptions{Platforms: platforms, Tag: tag, Jobs: o.Jobs, Progress: o.Progress, Referrers: o.Referrers}
	return root, copyGraph(ctx, store, s.Store, g, copts, progress)
}

// walk walks the graph s's root heads, converted to OCI media types when
// o asks for them.
func (s *Source) walk(ctx context.Context, platforms []manifest.Platform, o *Options) (*Graph, error) {
	g, err := Walk(ctx, s.Store, s.Root, &WalkOptions{Platforms: platforms, Referrers: o.Referrers})
	if err != nil || !o.OCIMediaTypes {
		return g, err
	}
	from := g.Root.Digest
	if g, err = g.ToOCI(); err != nil {
		return nil, err
	}
	if g.Root.Digest != from {
		o.note("converted %s to OCI media types: its digest is now %s (was %s)", s.Location, g.Root.Digest, from)
	}
	return g, nil
}

// checkDigest fails when dst names a digest other than root's.
func checkDigest(dst Location, root manifest.Descriptor) error {
	if dst.Kind == KindRegistry && dst.Ref.Digest != "" && string(root.Digest) != dst.Ref.Digest {
		return fmt.Errorf("images: the image's digest is %s, but %s names digest %s", root.Digest, dst, dst.Ref.Digest)
	}
	return nil
}

// destination opens a registry repository or a layout for writing, and
// returns the tag dst gives and what to do once the write succeeded.
func (o *Options) destination(dst Location) (manifest.Store, string, func(error) error, error) {
	if dst.Kind == KindRegistry {
		repo := o.Client.Repository(dst.Ref)
		repo.WillPush()
		return repo, dst.Ref.Tag, func(err error) error { return err }, nil
	}
	l, err := CreateLayout(dst.Path, o)
	if err != nil {
		return nil, "", nil, err
	}
	// What interrupted copies into the layout left is of no more use.
	done := func(err error) error {
		if err == nil {
			_, err = l.RemovePartials(0)
		}
		return errors.Join(err, l.Close())
	}
	return l, dst.Name, done, nil
}

// CreateLayout opens the layout in dir for writing as Copy does: it is
// created if need be, its blobs are flushed to stable storage with
// opts.Sync, and the partial blobs interrupted copies left in it are
// removed once older than opts.PartialMaxAge (every one, with
// opts.Fresh); younger ones are continued by the next copy of their blob.
func CreateLayout(dir string, opts *Options) (*layout.Layout, error) {
	if opts == nil {
		opts = &Options{}
	}
	l, err := layout.Create(dir)
	if err != nil {
		return nil, err
	}
	if err := readyLayout(l, opts); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// readyLayout sets l up to be copied into as CreateLayout does.
func readyLayout(l *layout.Layout, opts *Options) error {
	l.SyncBlobs = opts.Sync
	if age, ok := opts.maxAge(); ok {
		_, err := l.RemovePartials(age)
		return err
	}
	return nil
}

// defaultTag names an image copied into a layout without a tag: the
// source's tag, if it has one.
func defaultTag(l Location) string {
	switch l.Kind {
	case KindRegistry:
		return l.Ref.Tag
	case KindOCI, KindOCIArchive:
		return l.Name
	}
	return ""
}
