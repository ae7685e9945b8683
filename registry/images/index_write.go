package images

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/skiffoci/skiff/internal/tally"
	"github.com/skiffoci/skiff/manifest"
)

// NewIndexFrom returns an index of the images at locations, spelled as
// ParseLocation reads them, all opened at once (opts.Jobs at a time): a
// single image's manifest and config are read, and it is added as Add
// adds it, its platform from its config; an index adds its entries as
// AddIndex does (add.Platforms chooses among them). From an archive,
// what `docker load` would load is taken, and its plain-tar layers are
// gzip-compressed unless opts.KeepUncompressed, as Transfer does into a
// registry. No layer is read. The index holds the files of the archives
// until Close.
func NewIndexFrom(ctx context.Context, locations []string, add *AddOptions, opts *Options) (*Index, error) {
	if add == nil {
		add = &AddOptions{}
	}
	locs := make([]Location, len(locations))
	for i, s := range locations {
		var err error
		if locs[i], err = ParseLocation(s); err != nil {
			return nil, err
		}
	}
	opts = opts.withClient()
	parts, err := openParts(ctx, locs, add.Platforms, opts)
	all, _ := NewIndex() // every part, so that Close finds every archive
	for _, p := range parts {
		if p != nil {
			all.entries = append(all.entries, p.entries...)
		}
	}
	if err != nil {
		all.Close()
		return nil, err
	}
	out, _ := NewIndex()
	for i, p := range parts {
		o := add
		if p.orig == nil { // a single image: --platform chooses from indexes only
			o = &AddOptions{Duplicates: add.Duplicates}
		}
		if out, err = out.AddIndex(p, o); err != nil {
			all.Close()
			return nil, fmt.Errorf("%w (adding %s)", err, locs[i])
		}
	}
	return out, nil
}

// openParts opens each location as an index: of its one image, or as it
// is; platforms chooses from an archive's index what must be held.
func openParts(ctx context.Context, locs []Location, platforms []manifest.Platform, opts *Options) ([]*Index, error) {
	parts := make([]*Index, len(locs))
	errs := make([]error, len(locs))
	jobs := opts.Jobs
	if jobs < 1 {
		jobs = 4
	}
	slots := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, loc := range locs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			parts[i], errs[i] = openPart(ctx, loc, platforms, opts)
		}()
	}
	wg.Wait()
	return parts, errors.Join(errs...)
}

// openPart opens loc as an index: a single image's, or the index there.
func openPart(ctx context.Context, loc Location, platforms []manifest.Platform, opts *Options) (*Index, error) {
	src, err := OpenSource(ctx, loc, opts)
	if err != nil {
		return nil, err
	}
	o := *opts
	o.Platforms = platforms
	if err := src.settle(ctx, Location{Kind: KindRegistry}, platforms, &o); err != nil {
		src.Close()
		return nil, err
	}
	doc, err := manifest.FetchDocument(ctx, src.Store, src.Root)
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("images: %s: %w", loc, err)
	}
	if doc.Index != nil {
		return newIndex(src.fetcher(), doc, loc.String())
	}
	im, err := OpenDocument(ctx, src.fetcher(), doc)
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("images: %s: %w", loc, err)
	}
	ix, _ := NewIndex()
	return ix.Add(im, nil)
}

// encode marshals the index with the media type it is to have.
func (ix *Index) encode() (*manifest.Document, error) {
	mt := ix.effectiveType()
	idx := ix.index
	if mt == manifest.MediaTypeDockerManifestList {
		if err := ix.fitsDockerList(); err != nil {
			return nil, err
		}
	}
	if ix.orig == nil || mt != ix.orig.MediaType {
		idx.MediaType = mt
	}
	idx.SchemaVersion = 2
	return manifest.Marshal(mt, &idx)
}

// effectiveType is the media type the index is written as: see
// WithMediaType.
func (ix *Index) effectiveType() string {
	switch {
	case ix.mediaType != "":
		return ix.mediaType
	case ix.orig != nil && (ix.orig.MediaType != manifest.MediaTypeDockerManifestList || ix.allDocker() && ix.fitsDockerList() == nil):
		return ix.orig.MediaType
	case ix.orig == nil && len(ix.index.Manifests) > 0 && ix.allDocker() && ix.fitsDockerList() == nil:
		return manifest.MediaTypeDockerManifestList
	}
	return manifest.MediaTypeOCIIndex
}

// allDocker reports whether every entry is Docker-typed.
func (ix *Index) allDocker() bool {
	for _, d := range ix.index.Manifests {
		if d.MediaType != manifest.MediaTypeDockerManifest && d.MediaType != manifest.MediaTypeDockerManifestList {
			return false
		}
	}
	return true
}

// fitsDockerList says why the index cannot be a Docker manifest list,
// if it cannot.
func (ix *Index) fitsDockerList() error {
	for _, d := range ix.index.Manifests {
		if d.MediaType != manifest.MediaTypeDockerManifest && d.MediaType != manifest.MediaTypeDockerManifestList {
			return fmt.Errorf("images: a Docker manifest list cannot list %s, of type %s: write an OCI index", d.Digest, d.MediaType)
		}
	}
	if len(ix.index.Annotations) > 0 || ix.index.ArtifactType != "" || ix.index.Subject != nil {
		return errors.New("images: a Docker manifest list has no annotations, artifact type or subject: write an OCI index")
	}
	return nil
}

// writeEntries stores the entries dst lacks, but those done names:
// every entry's blobs first, all at once (entries opts.Jobs at a time,
// their blobs within one Pool), counted together for opts.Progress; then
// the copied entries' documents and, after opts.Wait, the added or
// replaced images' manifests. The first error cancels the rest.
func (ix *Index) writeEntries(ctx context.Context, dst manifest.Store, opts *WriteOptions, done map[manifest.Digest]bool) error {
	o := WriteOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Pool == nil {
		o.Pool = NewPool(o.Jobs)
	}
	parts, err := ix.planEntries(ctx, dst, &o, done)
	if err != nil {
		return err
	}
	var blobs []manifest.Descriptor
	for _, p := range parts {
		blobs = append(blobs, p.moves()...)
	}
	progress := tally.New(blobs, o.Progress)
	g := newGroup(ctx, o.Pool.Size())
	for _, p := range parts {
		if !g.Go(func(ctx context.Context) error { return p.store(ctx, dst, &o, progress) }) {
			break
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if o.Wait != nil {
		if err := o.Wait(); err != nil {
			return err
		}
	}
	g = newGroup(ctx, o.Pool.Size())
	for _, p := range parts {
		if p.image != nil && !g.Go(func(ctx context.Context) error { return writeDocument(ctx, dst, p.image.doc, "") }) {
			break
		}
	}
	return g.Wait()
}

// entryWrite is what storing one entry takes: an added or replaced
// image's write, or the graph of an entry copied as it is.
type entryWrite struct {
	image *imageWrite
	graph *Graph
	from  manifest.Fetcher // the graph's store
}

// planEntries plans the writes of the entries dst lacks, the graphs of
// those copied as they are walked at once.
func (ix *Index) planEntries(ctx context.Context, dst manifest.Store, o *WriteOptions, done map[manifest.Digest]bool) ([]*entryWrite, error) {
	parts := make([]*entryWrite, len(ix.index.Manifests))
	g := newGroup(ctx, o.Pool.Size())
	for i, d := range ix.index.Manifests {
		e := ix.entries[i]
		if done[d.Digest] || !e.needsWrite(dst) {
			continue
		}
		ok := g.Go(func(ctx context.Context) error {
			if e.img != nil {
				w, err := e.img.planWrite(dst, o)
				parts[i] = &entryWrite{image: w}
				return err
			}
			gr, err := Walk(ctx, e.from, d, &WalkOptions{Jobs: o.Jobs})
			parts[i] = &entryWrite{graph: gr, from: e.from}
			return err
		})
		if !ok {
			break
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(parts, func(p *entryWrite) bool { return p == nil }), nil
}

// moves lists the blobs the entry's write handles.
func (p *entryWrite) moves() []manifest.Descriptor {
	if p.image != nil {
		return p.image.moves()
	}
	return p.graph.Blobs
}

// store stores the entry's blobs, and the documents of a copied graph.
func (p *entryWrite) store(ctx context.Context, dst manifest.Store, o *WriteOptions, progress *tally.Counter) error {
	if p.image != nil {
		return p.image.blobs(ctx, progress)
	}
	c := &copier{dst: dst, src: p.from, opts: &CopyOptions{Jobs: o.Jobs, Pool: o.Pool}, progress: progress}
	return c.graph(ctx, p.graph)
}

// needsWrite reports whether dst may lack the entry: it does not when
// dst is the store that holds it, unedited.
func (e entry) needsWrite(dst manifest.Store) bool {
	h, ok := dst.(holder)
	if !ok {
		return true
	}
	if e.img == nil {
		return !h.Holds(e.from)
	}
	return !e.img.unedited() || !h.Holds(e.img.base)
}

// unedited reports whether im is the image it was opened as.
func (im *Image) unedited() bool {
	if im.orig == nil || im.base == nil {
		return false
	}
	d, err := im.Descriptor()
	return err == nil && d.Digest == im.orig.Digest
}
