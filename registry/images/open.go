package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/tarball"
)

// Options tune the calls that name images by location: Open, OpenIndex,
// OpenSource, Copy, Transfer, Write, WriteIndex and CreateLayout
// (OpenFrom reads only Platforms). The zero value, or nil, reaches
// registries anonymously, takes the host's platform from an index (or
// the whole index, where a copy's destination holds one), moves 4 blobs
// at a time and continues what an interrupted transfer left.
type Options struct {
	// Client reaches registries; nil means a zero registry.Client:
	// anonymous, over HTTPS (plain HTTP to loopback addresses).
	Client *registry.Client

	// Platforms chooses from an index. Open, OpenFrom, and WriteIndex
	// into an archive take one, the host's when Platforms is empty. Copy and
	// Transfer take any number, as CopyOptions.Platforms does; when it
	// is empty they copy the whole index, except into a docker-archive
	// or an oci-archive written without Referrers, which hold one
	// platform of an image: the host's.
	Platforms []manifest.Platform

	// Jobs bounds the blobs moved at a time; 0 means 4.
	Jobs int

	// Progress, if set, receives the events of every blob moved,
	// possibly from several goroutines at once.
	Progress func(manifest.Event)

	// Notes, if set, is told of each choice a copy makes that changes
	// what arrives, in one line for a person: platforms an archive
	// lacks, plain-tar layers compressed, media types converted.
	Notes func(string)

	// Referrers copies what refers to the images too (signatures,
	// attestations, SBOMs: what the referrers API lists and cosign's
	// sha256-DIGEST.sig, .att and .sbom tags), into a registry, a layout
	// or an oci-archive; a docker-archive holds images only.
	Referrers bool

	// OCIMediaTypes stores Docker-typed images with OCI media types in a
	// registry or a layout: their manifests get new digests, their
	// layers keep theirs. It does not go with Referrers, whose
	// signatures name the digests it changes.
	OCIMediaTypes bool

	// KeepUncompressed sends the plain-tar layers of an archive (docker
	// save, podman save) into a registry or a layout as they are; by
	// default they are gzip-compressed, as docker push does, which
	// changes the image's digest.
	KeepUncompressed bool

	// MaxZstdWindow bounds the memory a zstd-compressed archive may ask
	// for; 0 means 128 MiB.
	MaxZstdWindow int64

	// Fresh starts over instead of continuing what an interrupted
	// transfer into the same destination left, and removes every
	// partial file beside it.
	Fresh bool

	// PartialMaxAge is how old the partial files that interrupted
	// transfers left beside a destination may grow before a transfer
	// there removes them; 0 means 7 days, negative keeps them all.
	PartialMaxAge time.Duration

	// Sync flushes what is written (an archive, each blob of a layout)
	// to stable storage before it is named.
	Sync bool

	// RangeMin is the least size of a blob that a registry serves into an
	// archive file or a layout as several bounded ranges at once, written
	// where they belong as they arrive, over as many of Jobs' connections
	// as raise the throughput (see tarball.WriteOptions.RangeMin and
	// layout.Layout.FetchRanges); zero means 32 MiB, negative never.
	// Between registries, the Client's Ranges say.
	RangeMin int64

	// AsDirectory writes an archive as a directory holding the files its
	// tar would hold (dockersave's --no-tar); the directory must not
	// exist yet.
	AsDirectory bool

	// Stdout is where an archive whose path is "-" is written; nil
	// refuses such a destination.
	Stdout io.Writer
}

// withClient returns a copy of o (the zero Options for nil) with a
// Client, so that the calls of one transfer share its connections.
func (o *Options) withClient() *Options {
	out := Options{}
	if o != nil {
		out = *o
	}
	if out.Client == nil {
		out.Client = &registry.Client{}
	}
	return &out
}

// platform is the one platform o chooses: the host's by default.
func (o *Options) platform() (manifest.Platform, error) {
	switch {
	case o == nil || len(o.Platforms) == 0:
		return manifest.HostPlatform(), nil
	case len(o.Platforms) > 1:
		return manifest.Platform{}, fmt.Errorf("images: one image has one platform; %d were asked for", len(o.Platforms))
	}
	return o.Platforms[0], nil
}

// maxAge is how old others' partial files may grow, and whether any are
// to be removed at all.
func (o *Options) maxAge() (time.Duration, bool) {
	switch {
	case o.Fresh:
		return 0, true
	case o.PartialMaxAge < 0:
		return 0, false
	case o.PartialMaxAge == 0:
		return resume.DefaultMaxAge, true
	}
	return o.PartialMaxAge, true
}

// note tells o.Notes, if set.
func (o *Options) note(format string, args ...any) {
	if o.Notes != nil {
		o.Notes(fmt.Sprintf(format, args...))
	}
}

// Source is an image or an index opened where a Location names it: the
// store that holds it and the descriptor of its root. OpenSource opens
// one; Close releases what it holds.
type Source struct {
	// Location is where the source was opened.
	Location Location
	// Store holds the image: a *registry.Repository, a *layout.Layout
	// or a *tarball.Reader.
	Store manifest.ReadOnlyStore
	// Root describes the manifest or index Location names.
	Root manifest.Descriptor

	archive *tarball.Reader // an archive's Store
	layout  *layout.Layout  // a layout's Store
}

// OpenSource opens loc for reading and resolves the manifest or index it
// names; only that document is read (in a registry, with one request). A
// layout or an archive named without a tag names its only image; what
// is attached to images (signatures, SBOMs) does not count.
func OpenSource(ctx context.Context, loc Location, opts *Options) (*Source, error) {
	src := &Source{Location: loc}
	switch loc.Kind {
	case KindRegistry:
		repo := opts.withClient().Client.Repository(loc.Ref)
		doc, err := repo.FetchManifest(ctx, loc.Ref.Identifier())
		if err != nil {
			return nil, fmt.Errorf("images: %s: %w", loc, err)
		}
		src.Store, src.Root = repo, doc.Descriptor()
		return src, nil
	case KindOCI:
		l, err := openLayoutForRead(loc.Path)
		if err != nil {
			return nil, err
		}
		src.Store, src.layout = l, l
		if loc.Name == "" {
			if err := src.soleEntry(ctx, l); err != nil {
				src.Close()
				return nil, err
			}
			return src, nil
		}
	case KindDockerArchive, KindOCIArchive:
		r, err := tarball.OpenFile(loc.Path, &tarball.OpenOptions{MaxZstdWindow: opts.maxZstdWindow()})
		if err != nil {
			return nil, err
		}
		src.Store, src.archive = r, r
	default:
		return nil, fmt.Errorf("images: %s: no such kind of location", loc)
	}
	if err := src.resolve(ctx); err != nil {
		return nil, err
	}
	return src, nil
}

// maxZstdWindow is o.MaxZstdWindow, 0 for nil.
func (o *Options) maxZstdWindow() int64 {
	if o == nil {
		return 0
	}
	return o.MaxZstdWindow
}

// resolve finds the root Location's name names; on failure it releases
// what src holds.
func (s *Source) resolve(ctx context.Context) error {
	root, err := s.Store.Resolve(ctx, s.Location.Name)
	if err == nil {
		s.Root = root
		return nil
	}
	defer s.Close()
	if s.archive != nil && s.Location.Name == "" {
		imgs := s.archive.Candidates()
		var names []string
		for _, im := range imgs {
			names = append(names, im.Tags...)
		}
		return fmt.Errorf("images: %s holds %d images (%s); name one as %s:NAME", s.Location, len(imgs), strings.Join(names, ", "), s.Location)
	}
	return fmt.Errorf("images: %s: %w", s.Location, err)
}

// soleEntry picks the only image of a layout named without a tag; what
// is attached to images (signatures, SBOMs) is no candidate.
func (s *Source) soleEntry(ctx context.Context, l *layout.Layout) error {
	idx, err := l.Index()
	if err != nil {
		return err
	}
	cands := idx.Manifests
	if len(cands) > 1 {
		cands = slices.DeleteFunc(slices.Clone(cands), func(d manifest.Descriptor) bool { return attachedEntry(ctx, l, d) })
	}
	if len(cands) != 1 {
		return fmt.Errorf("images: %s holds %d images; name one as %s:TAG", s.Location, len(cands), s.Location)
	}
	s.Root = cands[0]
	return nil
}

// attachedEntry reports whether an index.json entry is attached to an
// image rather than one: named by a cosign tag, or a referrer or artifact.
func attachedEntry(ctx context.Context, f manifest.Fetcher, d manifest.Descriptor) bool {
	if manifest.IsCosignTag(d.Annotations[layout.RefNameAnnotation]) {
		return true
	}
	if !manifest.IsManifest(d.MediaType) && !manifest.IsIndex(d.MediaType) {
		return true
	}
	doc, err := manifest.FetchDocument(ctx, f, d)
	return err == nil && doc.Attached()
}

// Close releases the file an archive's Source holds, and the
// decompressed copy of a compressed one, or the directory a layout's
// holds; Store fails after it. It does nothing for a registry.
func (s *Source) Close() error {
	switch {
	case s.archive != nil:
		return s.archive.Close()
	case s.layout != nil:
		return s.layout.Close()
	}
	return nil
}

// fetcher is where the images and indexes opened from s read their
// blobs: Store, owned by them when it is an archive (see Image.Close).
func (s *Source) fetcher() manifest.Fetcher {
	switch {
	case s.archive != nil:
		return ownedArchive{s.archive}
	case s.layout != nil:
		return ownedLayout{s.layout}
	}
	return s.Store
}

// ownedArchive is an archive that an Image or Index opened by location
// holds, and closes on Close.
type ownedArchive struct{ *tarball.Reader }

// ownedLayout is a layout that an Image or Index opened by location
// holds, and closes on Close.
type ownedLayout struct{ *layout.Layout }

// owned reports whether an Image or Index opened by location owns base.
func owned(base manifest.Fetcher) bool {
	switch base.(type) {
	case ownedArchive, ownedLayout:
		return true
	}
	return false
}

// closeBase closes base if an Image or Index opened by location owns it.
func closeBase(base manifest.Fetcher) error {
	switch b := base.(type) {
	case ownedArchive:
		return b.Reader.Close()
	case ownedLayout:
		return b.Layout.Close()
	}
	return nil
}

// Manifest fetches s's root and, through any indexes, the manifest of
// platform p in it.
func (s *Source) Manifest(ctx context.Context, p manifest.Platform) (*manifest.Document, error) {
	doc, err := manifest.FetchDocument(ctx, s.Store, s.Root)
	if err == nil {
		doc, err = selectManifest(ctx, s.Store, doc, p)
	}
	if err != nil {
		return nil, fmt.Errorf("images: %s: %w", s.Location, err)
	}
	return doc, nil
}

// selectManifest returns doc, or if it is an index the manifest of
// platform p under it.
func selectManifest(ctx context.Context, f manifest.Fetcher, doc *manifest.Document, p manifest.Platform) (*manifest.Document, error) {
	for depth := 0; doc.Index != nil; depth++ {
		if depth >= manifest.MaxDepth {
			return nil, fmt.Errorf("index nesting deeper than %d", manifest.MaxDepth)
		}
		d, err := manifest.SelectPlatform(doc.Index, p)
		if err != nil {
			return nil, err
		}
		if doc, err = manifest.FetchDocument(ctx, f, d); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// Open reads the image at location, spelled as ParseLocation reads it
// ("ghcr.io/o/app:1.0", "oci:DIR:TAG", "docker-archive:FILE"): its
// manifest, choosing from an index the platform opts asks for (the
// host's by default), and its config. No layer is read. An image opened
// from an archive holds its file until Close.
func Open(ctx context.Context, location string, opts *Options) (*Image, error) {
	src, err := openString(ctx, location, opts)
	if err != nil {
		return nil, err
	}
	p, err := opts.platform()
	if err != nil {
		src.Close()
		return nil, err
	}
	doc, err := src.Manifest(ctx, p)
	if err == nil {
		var img *Image
		if img, err = OpenDocument(ctx, src.fetcher(), doc); err == nil {
			return img, nil
		}
	}
	src.Close()
	return nil, err
}

// openString parses location and opens it.
func openString(ctx context.Context, location string, opts *Options) (*Source, error) {
	loc, err := ParseLocation(location)
	if err != nil {
		return nil, err
	}
	return OpenSource(ctx, loc, opts)
}

// OpenIndex reads the index at location, spelled as ParseLocation reads
// it. Only the index is read. An index opened from an archive holds its
// file until Close.
func OpenIndex(ctx context.Context, location string, opts *Options) (*Index, error) {
	src, err := openString(ctx, location, opts)
	if err != nil {
		return nil, err
	}
	doc, err := manifest.FetchDocument(ctx, src.Store, src.Root)
	if err == nil {
		var ix *Index
		if ix, err = newIndex(src.fetcher(), doc, location); err == nil {
			return ix, nil
		}
	}
	src.Close()
	return nil, err
}

// newIndex is the Index of doc, whose blobs are in base.
func newIndex(base manifest.Fetcher, doc *manifest.Document, name string) (*Index, error) {
	if doc.Index == nil {
		return nil, fmt.Errorf("images: %s is a single image's manifest: open it with Open", name)
	}
	ix := &Index{orig: doc, index: *doc.Index}
	ix.index.Manifests = slices.Clone(ix.index.Manifests)
	ix.entries = make([]entry, len(ix.index.Manifests))
	for i := range ix.entries {
		ix.entries[i].from = base
	}
	return ix, nil
}

// Close releases the file an image opened from an archive holds, and the
// decompressed copy of a compressed one; it does nothing for other
// images. The images made from this one (by edits) and the Index it came
// from share that file: close one of them once, after the last is used.
func (im *Image) Close() error { return closeBase(im.base) }

// Close releases the files of the archives an index was opened or built
// from, as Image.Close does; the images of the index share them.
func (ix *Index) Close() error {
	var errs []error
	var closed []manifest.Fetcher
	for _, e := range ix.entries {
		for _, f := range []manifest.Fetcher{e.from, e.img.baseOrNil()} {
			if owned(f) && !slices.ContainsFunc(closed, func(c manifest.Fetcher) bool { return sameFetcher(c, f) }) {
				closed = append(closed, f)
				errs = append(errs, closeBase(f))
			}
		}
	}
	return errors.Join(errs...)
}

// baseOrNil is the store im was opened from, or nil for no image.
func (im *Image) baseOrNil() manifest.Fetcher {
	if im == nil {
		return nil
	}
	return im.base
}

// manifestFetcher is implemented by stores that fetch a manifest by tag in
// one request (registry.Repository), saving the round trip of Resolve.
type manifestFetcher interface {
	FetchManifest(ctx context.Context, ref string) (*manifest.Document, error)
}

// OpenFrom reads the image ref names in src, a store the caller holds (a
// registry.Repository, a layout.Layout, a tarball.Reader): its manifest,
// choosing from an index the platform opts asks for (the host's by
// default), and its config. ref is what src's Resolve takes: a tag, a
// digest ("sha256:…") or a whole reference ("ghcr.io/o/app:1.0") of
// src's repository. No layer is read.
func OpenFrom(ctx context.Context, src manifest.ReadOnlyStore, ref string, opts *Options) (*Image, error) {
	p, err := opts.platform()
	if err != nil {
		return nil, err
	}
	doc, err := fetchRef(ctx, src, ref)
	if err != nil {
		return nil, err
	}
	if doc, err = selectManifest(ctx, src, doc, p); err != nil {
		return nil, fmt.Errorf("images: %s: %w", ref, err)
	}
	return OpenDocument(ctx, src, doc)
}

// OpenIndexFrom reads the index ref names in src, a store the caller
// holds; ref is spelled as for OpenFrom. Only the index is read.
func OpenIndexFrom(ctx context.Context, src manifest.ReadOnlyStore, ref string) (*Index, error) {
	doc, err := fetchRef(ctx, src, ref)
	if err != nil {
		return nil, err
	}
	return newIndex(src, doc, ref)
}

// fetchRef fetches the document ref names, in one request where src can.
func fetchRef(ctx context.Context, src manifest.ReadOnlyStore, ref string) (*manifest.Document, error) {
	if mf, ok := src.(manifestFetcher); ok {
		return mf.FetchManifest(ctx, ref)
	}
	desc, err := src.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return manifest.FetchDocument(ctx, src, desc)
}
