package images

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/skiffoci/skiff/internal/tally"
	"github.com/skiffoci/skiff/manifest"
)

// Index is a multi-platform image: an index whose platforms' images can be
// opened, replaced and written back, the others untouched. The zero value
// is not usable: call OpenIndex. An Index is immutable.
type Index struct {
	base     manifest.Fetcher
	orig     *manifest.Document
	index    manifest.Index
	replaced map[int]*Image // by position in index.Manifests
	edited   bool           // the index's own fields changed (Annotate)
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
	if im := ix.replaced[i]; im != nil {
		return im, nil
	}
	return OpenDescriptor(ctx, ix.base, ix.index.Manifests[i])
}

// find returns the position of platform p's entry.
func (ix *Index) find(p manifest.Platform) (int, error) {
	d, err := manifest.SelectPlatform(&ix.index, p)
	if err != nil {
		return 0, fmt.Errorf("images: index %s: %w", ix.orig.Digest, err)
	}
	return slices.IndexFunc(ix.index.Manifests, func(e manifest.Descriptor) bool { return e.Digest == d.Digest }), nil
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
	entry := &out.index.Manifests[i]
	entry.MediaType, entry.Digest, entry.Size = d.MediaType, d.Digest, d.Size
	if out.replaced == nil {
		out.replaced = map[int]*Image{}
	}
	out.replaced[i] = im
	return out, nil
}

// clone returns a copy of ix to change.
func (ix *Index) clone() *Index {
	out := *ix
	out.index.Manifests = slices.Clone(ix.index.Manifests)
	out.index.Annotations = maps.Clone(ix.index.Annotations)
	out.replaced = maps.Clone(ix.replaced)
	return &out
}

// Annotate returns the index with annotations set on the index itself:
// each key set to its value, or removed when the value is "". A Docker
// manifest list becomes an OCI index (its entries unchanged), since
// Docker's list has no annotations.
func (ix *Index) Annotate(annotations map[string]string) *Index {
	out := ix.clone()
	if ix.orig.MediaType == manifest.MediaTypeDockerManifestList || out.index.MediaType == manifest.MediaTypeDockerManifestList {
		out.index.MediaType = manifest.MediaTypeOCIIndex
	}
	out.index.Annotations = annotate(out.index.Annotations, annotations)
	out.edited = true
	return out
}

// Document returns a copy of the index as bytes: as opened while nothing
// was replaced or annotated.
func (ix *Index) Document() (*manifest.Document, error) {
	if len(ix.replaced) == 0 && !ix.edited {
		return ix.orig.Clone(), nil
	}
	mt := ix.index.MediaType
	if mt == "" {
		mt = ix.orig.MediaType
	}
	return manifest.Marshal(mt, &ix.index)
}

// Write stores the index in dst, named tag unless tag is "": every
// replaced image as Image.Write does, every other entry as CopyDescriptor
// does (nothing to do when dst is the store the index came from;
// mounted within one registry; streamed across), the index last.
// opts.Progress sees the totals of all of it.
func (ix *Index) Write(ctx context.Context, dst manifest.Store, tag string, opts *WriteOptions) (manifest.Descriptor, error) {
	if opts == nil {
		opts = &WriteOptions{}
	}
	doc, err := ix.Document()
	if err != nil {
		return manifest.Descriptor{}, err
	}
	writes, graphs, err := ix.planWrite(ctx, dst, opts)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	var blobs []manifest.Descriptor
	for _, w := range writes {
		blobs = append(blobs, w.moves()...)
	}
	for _, g := range graphs {
		blobs = append(blobs, g.Blobs...)
	}
	progress := tally.New(blobs, opts.Progress)
	for _, w := range writes {
		if err := w.blobs(ctx, progress); err != nil {
			return manifest.Descriptor{}, err
		}
	}
	for _, g := range graphs {
		c := &copier{dst: dst, src: ix.base, opts: &CopyOptions{Jobs: opts.Jobs}, progress: progress}
		if err := c.graph(ctx, g); err != nil {
			return manifest.Descriptor{}, err
		}
	}
	if opts.Wait != nil {
		if err := opts.Wait(); err != nil {
			return manifest.Descriptor{}, err
		}
	}
	for _, w := range writes {
		if err := writeDocument(ctx, dst, w.doc, ""); err != nil {
			return manifest.Descriptor{}, err
		}
	}
	return doc.Descriptor(), writeDocument(ctx, dst, doc, tag)
}

// planWrite lists what writing the index takes: the replaced images'
// writes, and the graphs of the other entries unless dst is the store
// they are in.
func (ix *Index) planWrite(ctx context.Context, dst manifest.Store, opts *WriteOptions) ([]*imageWrite, []*Graph, error) {
	h, isHolder := dst.(holder)
	sameStore := isHolder && h.Holds(ix.base)
	var writes []*imageWrite
	var graphs []*Graph
	for i, entry := range ix.index.Manifests {
		if im := ix.replaced[i]; im != nil {
			w, err := im.planWrite(dst, opts)
			if err != nil {
				return nil, nil, err
			}
			writes = append(writes, w)
		} else if !sameStore {
			g, err := Walk(ctx, ix.base, entry, &WalkOptions{Jobs: opts.Jobs})
			if err != nil {
				return nil, nil, err
			}
			graphs = append(graphs, g)
		}
	}
	return writes, graphs, nil
}
