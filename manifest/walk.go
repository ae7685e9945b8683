package manifest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// ReferrersLister is implemented by stores that can list the manifests
// whose subject is desc: a registry through the referrers API (or its tag
// schema fallback).
type ReferrersLister interface {
	Referrers(ctx context.Context, desc Descriptor, artifactType string) ([]Descriptor, error)
}

// CosignSuffixes are the tags cosign gives what it attaches to an image
// whose digest is sha256:HEX: "sha256-HEX.sig" and so on.
var CosignSuffixes = []string{".sig", ".att", ".sbom"}

// CosignTag returns the tag cosign puts what it attaches to d under, with
// suffix ".sig", ".att" or ".sbom".
func CosignTag(d Digest, suffix string) string {
	return d.Algorithm() + "-" + d.Hex() + suffix
}

// WalkOptions tune Walk. The zero value walks the whole graph under the
// root and nothing that refers to it.
type WalkOptions struct {
	// Platforms selects from a root index as CopyOptions.Platforms does.
	Platforms []Platform
	// Referrers adds, for every manifest and index in the graph, the
	// manifests that refer to it (when the source is a ReferrersLister)
	// and the ones cosign tags after its digest (when the source is a
	// Resolver), with their blobs and, recursively, what refers to them.
	Referrers bool
}

// Graph is an image graph: the documents under a root, every blob they
// name, and what refers to them. It is what Copy moves, sync compares and
// verify checks; one walker serves them all.
type Graph struct {
	// Root is the root document, after any platform selection.
	Root *Document
	// Docs holds every manifest and index once, children before parents,
	// referrers after their subjects.
	Docs []*Document
	// Blobs holds every config, layer and other blob once.
	Blobs []Descriptor
	// Tagged holds the documents found under cosign's tags, with the tag.
	Tagged []TaggedDoc
}

// TaggedDoc is a document found under a tag while walking.
type TaggedDoc struct {
	Tag string
	Doc *Document
}

// Walk fetches root from src, selects from it as opts says, and walks the
// graph under it: every manifest and index is fetched, verified and
// parsed; blobs are listed, not fetched. Nesting deeper than MaxDepth, a
// cycle, or more than MaxManifests documents is an error.
func Walk(ctx context.Context, src Fetcher, root Descriptor, opts *WalkOptions) (*Graph, error) {
	if opts == nil {
		opts = &WalkOptions{}
	}
	w := &walker{src: src, seen: map[Digest]bool{}, opts: opts, g: &Graph{}}
	rootDoc, err := w.selectRoot(ctx, root, opts.Platforms)
	if err != nil {
		return nil, err
	}
	w.g.Root = rootDoc
	if err := w.walk(ctx, rootDoc, 0, map[Digest]bool{}); err != nil {
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
	src  Fetcher
	seen map[Digest]bool
	opts *WalkOptions
	g    *Graph
}

// selectRoot fetches root and applies the platform selection.
func (w *walker) selectRoot(ctx context.Context, root Descriptor, platforms []Platform) (*Document, error) {
	doc, err := w.fetch(ctx, root)
	if err != nil || doc.Index == nil || len(platforms) == 0 {
		return doc, err
	}
	var picked []Descriptor
	for _, want := range platforms {
		d, err := SelectPlatform(doc.Index, want)
		if err != nil {
			return nil, fmt.Errorf("manifest: index %s: %w", root.Digest, err)
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
	return Marshal(doc.MediaType, &idx)
}

// pickedAll reports whether picked holds every entry of idx, each once.
func pickedAll(idx *Index, picked []Descriptor) bool {
	if len(picked) != len(idx.Manifests) {
		return false
	}
	set := make(map[Digest]bool, len(picked))
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

func (w *walker) fetch(ctx context.Context, desc Descriptor) (*Document, error) {
	doc, err := FetchDocument(ctx, w.src, desc)
	if err != nil {
		return nil, fmt.Errorf("manifest: fetching %s: %w", desc.Digest, err)
	}
	return doc, nil
}

// walk adds doc's children to the graph, then doc. path holds the
// documents on the way down, to refuse cycles.
func (w *walker) walk(ctx context.Context, doc *Document, depth int, path map[Digest]bool) error {
	if depth > MaxDepth {
		return fmt.Errorf("manifest: index nesting deeper than %d at %s", MaxDepth, doc.Digest)
	}
	if path[doc.Digest] {
		return fmt.Errorf("manifest: index %s contains itself", doc.Digest)
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
	if len(w.g.Docs)+len(w.g.Tagged) > MaxManifests {
		return fmt.Errorf("manifest: more than %d manifests under one root", MaxManifests)
	}
	return nil
}

// walkChild walks child, fetched already as doc unless doc is nil.
func (w *walker) walkChild(ctx context.Context, child Descriptor, depth int, path map[Digest]bool, doc *Document) error {
	if path[child.Digest] {
		return fmt.Errorf("manifest: index %s contains itself", child.Digest)
	}
	if !IsIndex(child.MediaType) && !IsManifest(child.MediaType) {
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

// maxFetches bounds the documents fetched at once.
const maxFetches = 8

// prefetch fetches the manifests and indexes among children that the
// walk has not met, maxFetches at a time: an index's platforms cost one
// round trip, not one each. The result is in children's order, nil where
// nothing was fetched.
func (w *walker) prefetch(ctx context.Context, children []Descriptor, path map[Digest]bool) ([]*Document, error) {
	docs := make([]*Document, len(children))
	errs := make([]error, len(children))
	sem := make(chan struct{}, maxFetches)
	var wg sync.WaitGroup
	for i, c := range children {
		if (!IsIndex(c.MediaType) && !IsManifest(c.MediaType)) || w.seen[c.Digest] || path[c.Digest] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			docs[i], errs[i] = w.fetch(ctx, c)
		}()
	}
	wg.Wait()
	return docs, errors.Join(errs...)
}

func (w *walker) addBlob(d Descriptor) {
	if !w.seen[d.Digest] {
		w.seen[d.Digest] = true
		w.g.Blobs = append(w.g.Blobs, d)
	}
}

// referrers adds what refers to each document of the graph, and what
// refers to those, until nothing new turns up. The questions about one
// round of documents go out together (maxFetches at a time); the answers
// are added in order.
func (w *walker) referrers(ctx context.Context) error {
	asked := map[Digest]bool{}
	for next := 0; ; {
		var round []Descriptor
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
func (w *walker) allDocs() []*Document {
	all := slices.Clone(w.g.Docs)
	for _, t := range w.g.Tagged {
		all = append(all, t.Doc)
	}
	return all
}

// attached is what one document has attached: the referrers the source
// lists, and what its cosign tags name.
type attached struct {
	refs   []Descriptor
	tags   []string
	tagged []Descriptor
}

// ask finds what is attached to each of ds, maxFetches questions at a time.
func (w *walker) ask(ctx context.Context, ds []Descriptor) ([]attached, error) {
	out := make([]attached, len(ds))
	errs := make([]error, len(ds))
	sem := make(chan struct{}, maxFetches)
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], errs[i] = w.attachedTo(ctx, d)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// attachedTo asks the source what refers to d and what d's cosign tags
// name.
func (w *walker) attachedTo(ctx context.Context, d Descriptor) (attached, error) {
	var a attached
	if rl, ok := w.src.(ReferrersLister); ok {
		refs, err := rl.Referrers(ctx, d, "")
		if err != nil {
			return a, fmt.Errorf("manifest: referrers of %s: %w", d.Digest, err)
		}
		a.refs = refs
	}
	res, ok := w.src.(Resolver)
	if !ok {
		return a, nil
	}
	for _, suffix := range CosignSuffixes {
		tag := CosignTag(d.Digest, suffix)
		td, err := res.Resolve(ctx, tag)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return a, fmt.Errorf("manifest: looking for %s: %w", tag, err)
		}
		a.tags, a.tagged = append(a.tags, tag), append(a.tagged, td)
	}
	return a, nil
}

// addFound adds what attachedTo found to the graph.
func (w *walker) addFound(ctx context.Context, a attached) error {
	for _, r := range a.refs {
		if err := w.walkChild(ctx, r, 0, map[Digest]bool{}, nil); err != nil {
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
func (w *walker) addTagged(ctx context.Context, tag string, td Descriptor) error {
	doc, err := w.fetch(ctx, td)
	if err != nil {
		return err
	}
	if doc.Index != nil {
		if err := w.walk(ctx, doc, 0, map[Digest]bool{}); err != nil {
			return err
		}
	} else {
		w.addBlob(doc.Manifest.Config)
		for _, l := range doc.Manifest.Layers {
			w.addBlob(l)
		}
	}
	w.g.Tagged = append(w.g.Tagged, TaggedDoc{Tag: tag, Doc: doc})
	if len(w.g.Docs)+len(w.g.Tagged) > MaxManifests {
		return fmt.Errorf("manifest: more than %d manifests under one root", MaxManifests)
	}
	return nil
}

// Subject returns the subject d refers to, if it has one, and the
// descriptor that lists d among that subject's referrers: d's digest,
// size and media type, its artifact type (the config's media type when
// it names none) and its annotations.
func (d *Document) Subject() (*Descriptor, Descriptor) {
	entry := d.Descriptor()
	var subject *Descriptor
	switch {
	case d.Manifest != nil:
		subject, entry.ArtifactType, entry.Annotations = d.Manifest.Subject, d.Manifest.ArtifactType, maps.Clone(d.Manifest.Annotations)
		if entry.ArtifactType == "" {
			entry.ArtifactType = d.Manifest.Config.MediaType
		}
	case d.Index != nil:
		subject, entry.ArtifactType, entry.Annotations = d.Index.Subject, d.Index.ArtifactType, maps.Clone(d.Index.Annotations)
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
