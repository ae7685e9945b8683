package images

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/skiffoci/skiff/manifest"
)

// WalkOptions tune Walk. The zero value walks the whole graph under the
// root and nothing that refers to it.
type WalkOptions struct {
	// Platforms selects from a root index as CopyOptions.Platforms does.
	Platforms []manifest.Platform
	// Referrers adds, for every manifest and index in the graph, the
	// manifests that refer to it (when the source is a ReferrersLister)
	// and the ones cosign tags after its digest (when the source is a
	// Resolver), with their blobs and, recursively, what refers to them.
	Referrers bool
	// Jobs bounds the documents fetched, and the questions about
	// referrers asked, at once; 0 means 4.
	Jobs int
}

func (o *WalkOptions) jobs() int {
	if o.Jobs > 0 {
		return o.Jobs
	}
	return 4
}

// Graph is an image graph: the documents under a root, every blob they
// name, and what refers to them. It is what CopyGraph moves, sync
// compares and verify checks; one walker serves them all.
type Graph struct {
	// Root is the root document, after any platform selection.
	Root *manifest.Document
	// Docs holds every manifest and index once, children before parents,
	// referrers after their subjects.
	Docs []*manifest.Document
	// Blobs holds every config, layer and other blob once.
	Blobs []manifest.Descriptor
	// Tagged holds the documents found under cosign's tags, with the tag.
	Tagged []TaggedDoc
}

// TaggedDoc is a document found under a tag while walking.
type TaggedDoc struct {
	Tag string
	Doc *manifest.Document
}

// Walk fetches root from src, selects from it as opts says, and walks the
// graph under it: every manifest and index is fetched, verified and
// parsed; blobs are listed, not fetched. Nesting deeper than MaxDepth, a
// cycle, or more than MaxManifests documents is an error.
func Walk(ctx context.Context, src manifest.Fetcher, root manifest.Descriptor, opts *WalkOptions) (*Graph, error) {
	if opts == nil {
		opts = &WalkOptions{}
	}
	w := &walker{src: src, seen: map[manifest.Digest]bool{}, opts: opts, g: &Graph{}}
	rootDoc, err := w.selectRoot(ctx, root, opts.Platforms)
	if err != nil {
		return nil, err
	}
	w.g.Root = rootDoc
	if err := w.walk(ctx, rootDoc, 0, map[manifest.Digest]bool{}); err != nil {
		return nil, err
	}
	if opts.Referrers {
		if err := w.referrers(ctx); err != nil {
			return nil, err
		}
	}
	return w.g, nil
}

// walker builds a Graph: blobs deduplicated by digest, documents in
// post-order.
type walker struct {
	src  manifest.Fetcher
	seen map[manifest.Digest]bool
	opts *WalkOptions
	g    *Graph
}

// selectRoot fetches root and applies the platform selection.
func (w *walker) selectRoot(ctx context.Context, root manifest.Descriptor, platforms []manifest.Platform) (*manifest.Document, error) {
	doc, err := w.fetch(ctx, root)
	if err != nil || doc.Index == nil || len(platforms) == 0 {
		return doc, err
	}
	var picked []manifest.Descriptor
	for _, want := range platforms {
		d, err := manifest.SelectPlatform(doc.Index, want)
		if err != nil {
			return nil, fmt.Errorf("images: index %s: %w", root.Digest, err)
		}
		picked = append(picked, d)
	}
	if len(picked) == 1 {
		return w.fetch(ctx, picked[0])
	}
	if pickedAll(doc.Index, picked) {
		return doc, nil // the index as it is: its digest, and what signs it, stay
	}
	idx := *doc.Index
	idx.Manifests = picked
	return manifest.Marshal(doc.MediaType, &idx)
}

// pickedAll reports whether picked holds every entry of idx, each once.
func pickedAll(idx *manifest.Index, picked []manifest.Descriptor) bool {
	if len(picked) != len(idx.Manifests) {
		return false
	}
	set := make(map[manifest.Digest]bool, len(picked))
	for _, d := range picked {
		set[d.Digest] = true
	}
	for _, d := range idx.Manifests {
		if !set[d.Digest] {
			return false
		}
	}
	return len(set) == len(picked)
}

func (w *walker) fetch(ctx context.Context, desc manifest.Descriptor) (*manifest.Document, error) {
	doc, err := manifest.FetchDocument(ctx, w.src, desc)
	if err != nil {
		return nil, fmt.Errorf("images: fetching %s: %w", desc.Digest, err)
	}
	return doc, nil
}

// walk adds doc's children to the graph, then doc. path holds the
// documents on the way down, to refuse cycles.
func (w *walker) walk(ctx context.Context, doc *manifest.Document, depth int, path map[manifest.Digest]bool) error {
	if depth > manifest.MaxDepth {
		return fmt.Errorf("images: index nesting deeper than %d at %s", manifest.MaxDepth, doc.Digest)
	}
	if path[doc.Digest] {
		return fmt.Errorf("images: index %s contains itself", doc.Digest)
	}
	if w.seen[doc.Digest] {
		return nil
	}
	path[doc.Digest] = true
	defer delete(path, doc.Digest)
	if doc.Index != nil {
		children, err := w.prefetch(ctx, doc.Index.Manifests, path)
		if err != nil {
			return err
		}
		for i, child := range doc.Index.Manifests {
			if err := w.walkChild(ctx, child, depth, path, children[i]); err != nil {
				return err
			}
		}
	} else {
		w.addBlob(doc.Manifest.Config)
		for _, l := range doc.Manifest.Layers {
			w.addBlob(l)
		}
	}
	w.seen[doc.Digest] = true
	w.g.Docs = append(w.g.Docs, doc)
	if len(w.g.Docs)+len(w.g.Tagged) > manifest.MaxManifests {
		return fmt.Errorf("images: more than %d manifests under one root", manifest.MaxManifests)
	}
	return nil
}

// walkChild walks child, fetched already as doc unless doc is nil.
func (w *walker) walkChild(ctx context.Context, child manifest.Descriptor, depth int, path map[manifest.Digest]bool, doc *manifest.Document) error {
	if path[child.Digest] {
		return fmt.Errorf("images: index %s contains itself", child.Digest)
	}
	if !manifest.IsIndex(child.MediaType) && !manifest.IsManifest(child.MediaType) {
		w.addBlob(child) // an artifact or unknown type: copy as a blob
		return nil
	}
	if w.seen[child.Digest] {
		return nil
	}
	if doc == nil {
		var err error
		if doc, err = w.fetch(ctx, child); err != nil {
			return err
		}
	}
	return w.walk(ctx, doc, depth+1, path)
}

// prefetch fetches the manifests and indexes among children that the
// walk has not met, opts.Jobs at a time: an index's platforms cost one
// round trip, not one each. The result is in children's order, nil where
// nothing was fetched. The first error cancels the other fetches.
func (w *walker) prefetch(ctx context.Context, children []manifest.Descriptor, path map[manifest.Digest]bool) ([]*manifest.Document, error) {
	docs := make([]*manifest.Document, len(children))
	g := newGroup(ctx, w.opts.jobs())
	for i, c := range children {
		if (!manifest.IsIndex(c.MediaType) && !manifest.IsManifest(c.MediaType)) || w.seen[c.Digest] || path[c.Digest] {
			continue
		}
		if !g.Go(func(ctx context.Context) (err error) { docs[i], err = w.fetch(ctx, c); return err }) {
			break
		}
	}
	return docs, g.Wait()
}

func (w *walker) addBlob(d manifest.Descriptor) {
	if !w.seen[d.Digest] {
		w.seen[d.Digest] = true
		w.g.Blobs = append(w.g.Blobs, d)
	}
}

// referrers adds what refers to each document of the graph, and what
// refers to those, until nothing new turns up. The questions about one
// round of documents go out together (opts.Jobs at a time); the answers
// are added in order.
func (w *walker) referrers(ctx context.Context) error {
	asked := map[manifest.Digest]bool{}
	for next := 0; ; {
		var round []manifest.Descriptor
		all := w.allDocs()
		for _, doc := range all[next:] {
			if !asked[doc.Digest] {
				asked[doc.Digest] = true
				round = append(round, doc.Descriptor())
			}
		}
		next = len(all)
		if len(round) == 0 {
			return nil
		}
		found, err := w.ask(ctx, round)
		if err != nil {
			return err
		}
		for _, f := range found {
			if err := w.addFound(ctx, f); err != nil {
				return err
			}
		}
	}
}

// allDocs lists the graph's documents, tagged ones last.
func (w *walker) allDocs() []*manifest.Document {
	all := slices.Clone(w.g.Docs)
	for _, t := range w.g.Tagged {
		all = append(all, t.Doc)
	}
	return all
}

// attached is what one document has attached: the referrers the source
// lists, and what its cosign tags name.
type attached struct {
	refs   []manifest.Descriptor
	tags   []string
	tagged []manifest.Descriptor
}

// ask finds what is attached to each of ds, opts.Jobs questions at a
// time; the first error cancels the others.
func (w *walker) ask(ctx context.Context, ds []manifest.Descriptor) ([]attached, error) {
	out := make([]attached, len(ds))
	g := newGroup(ctx, w.opts.jobs())
	for i, d := range ds {
		if !g.Go(func(ctx context.Context) (err error) { out[i], err = w.attachedTo(ctx, d); return err }) {
			break
		}
	}
	return out, g.Wait()
}

// attachedTo asks the source what refers to d and what d's cosign tags
// name.
func (w *walker) attachedTo(ctx context.Context, d manifest.Descriptor) (attached, error) {
	var a attached
	if rl, ok := w.src.(manifest.ReferrersLister); ok {
		refs, err := rl.Referrers(ctx, d, "")
		if err != nil {
			return a, fmt.Errorf("images: referrers of %s: %w", d.Digest, err)
		}
		a.refs = refs
	}
	res, ok := w.src.(manifest.Resolver)
	if !ok {
		return a, nil
	}
	for _, suffix := range manifest.CosignSuffixes {
		tag, err := manifest.CosignTag(d.Digest, suffix)
		if err != nil {
			return a, nil // a digest cosign cannot name by tag has no such tags
		}
		td, err := res.Resolve(ctx, tag)
		if errors.Is(err, manifest.ErrNotFound) {
			continue
		}
		if err != nil {
			return a, fmt.Errorf("images: looking for %s: %w", tag, err)
		}
		a.tags, a.tagged = append(a.tags, tag), append(a.tagged, td)
	}
	return a, nil
}

// addFound adds what attachedTo found to the graph.
func (w *walker) addFound(ctx context.Context, a attached) error {
	for _, r := range a.refs {
		if err := w.walkChild(ctx, r, 0, map[manifest.Digest]bool{}, nil); err != nil {
			return err
		}
	}
	for i, tag := range a.tags {
		if err := w.addTagged(ctx, tag, a.tagged[i]); err != nil {
			return err
		}
	}
	return nil
}

// addTagged adds the document td found under tag, and its blobs.
func (w *walker) addTagged(ctx context.Context, tag string, td manifest.Descriptor) error {
	doc, err := w.fetch(ctx, td)
	if err != nil {
		return err
	}
	if doc.Index != nil {
		if err := w.walk(ctx, doc, 0, map[manifest.Digest]bool{}); err != nil {
			return err
		}
	} else {
		w.addBlob(doc.Manifest.Config)
		for _, l := range doc.Manifest.Layers {
			w.addBlob(l)
		}
	}
	w.g.Tagged = append(w.g.Tagged, TaggedDoc{Tag: tag, Doc: doc})
	if len(w.g.Docs)+len(w.g.Tagged) > manifest.MaxManifests {
		return fmt.Errorf("images: more than %d manifests under one root", manifest.MaxManifests)
	}
	return nil
}
