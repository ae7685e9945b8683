package images

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/skiffoci/skiff/manifest"
)

// Index is a multi-platform image: an index whose platforms' images can be
// opened, replaced, added and removed, and written back, the others
// untouched. OpenIndex opens one; NewIndex and NewIndexFrom make one from
// images. An Index is immutable: every edit returns a new one.
type Index struct {
	orig      *manifest.Document // the index as opened; nil for a new one
	index     manifest.Index     // the index as it is now
	entries   []entry            // one per index.Manifests entry, in order
	edited    bool               // index is no longer orig
	mediaType string             // chosen by WithMediaType; "" decides when encoding
}

// entry is where an index entry's manifest and blobs are.
type entry struct {
	from manifest.Fetcher // the store that holds the entry's graph
	img  *Image           // the image added or put in its place, if any
}

// Manifests returns the index's entries, one per platform (and any
// attestations or other artifacts it lists).
func (ix *Index) Manifests() []manifest.Descriptor { return cloneDescriptors(ix.index.Manifests) }

// Image opens the image of platform p, or returns the one that replaced it.
func (ix *Index) Image(ctx context.Context, p manifest.Platform) (*Image, error) {
	i, err := ix.find(p)
	if err != nil {
		return nil, err
	}
	if im := ix.entries[i].img; im != nil {
		return im, nil
	}
	return OpenDescriptor(ctx, ix.entries[i].from, ix.index.Manifests[i])
}

// find returns the position of platform p's entry.
func (ix *Index) find(p manifest.Platform) (int, error) {
	d, err := manifest.SelectPlatform(&ix.index, p)
	if err != nil {
		return 0, fmt.Errorf("images: index %s: %w", ix.name(), err)
	}
	return slices.IndexFunc(ix.index.Manifests, func(e manifest.Descriptor) bool { return e.Digest == d.Digest }), nil
}

// name names the index in errors: its digest as opened, or "being built".
func (ix *Index) name() string {
	if ix.orig == nil {
		return "being built"
	}
	return string(ix.orig.Digest)
}

// Replace returns the index with im as platform p's image. The entry keeps
// its platform and annotations.
func (ix *Index) Replace(p manifest.Platform, im *Image) (*Index, error) {
	i, err := ix.find(p)
	if err != nil {
		return nil, err
	}
	d, err := im.Descriptor()
	if err != nil {
		return nil, err
	}
	out := ix.clone()
	e := &out.index.Manifests[i]
	e.MediaType, e.Digest, e.Size = d.MediaType, d.Digest, d.Size
	out.entries[i] = entry{from: im.base, img: im}
	return out, nil
}

// clone returns a copy of ix to edit: its entries, annotations and
// their slices are its own.
func (ix *Index) clone() *Index {
	out := *ix
	out.index.Manifests = slices.Clone(ix.index.Manifests)
	out.index.Annotations = maps.Clone(ix.index.Annotations)
	out.entries = slices.Clone(ix.entries)
	out.edited = true
	return &out
}

// Document returns a copy of the index as bytes: as opened while nothing
// was edited.
func (ix *Index) Document() (*manifest.Document, error) {
	if !ix.edited && ix.orig != nil {
		return ix.orig.Clone(), nil
	}
	return ix.encode()
}

// Write stores the index in dst, named tag unless tag is "": its entries
// first, all at once (opts.Jobs at a time), each added or replaced image
// as Image.Write does and every other entry as CopyDescriptor does
// (nothing to do when dst is the store that holds it; mounted within one
// registry; streamed across), and the index last.
func (ix *Index) Write(ctx context.Context, dst manifest.Store, tag string, opts *WriteOptions) (manifest.Descriptor, error) {
	doc, err := ix.Document()
	if err != nil {
		return manifest.Descriptor{}, err
	}
	if err := ix.writeEntries(ctx, dst, opts, nil); err != nil {
		return manifest.Descriptor{}, err
	}
	return doc.Descriptor(), writeDocument(ctx, dst, doc, tag)
}
