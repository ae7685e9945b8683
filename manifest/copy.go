package manifest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
)

// Bounds on the graph Copy walks (RELIABILITY #10).
const (
	MaxDepth     = 8     // index nesting
	MaxManifests = 10000 // manifests and indexes in one graph
)

// Mounter is implemented by stores that can take a blob from another
// store on the same server without moving its bytes (a registry's
// cross-repository mount). MountFrom reports false, with no error, when
// src is not such a store or the server declined.
type Mounter interface {
	MountFrom(ctx context.Context, desc Descriptor, src Fetcher) (bool, error)
}

// ReferencePusher is implemented by stores that can store a manifest under
// a tag in one step, instead of Push and then Tag.
type ReferencePusher interface {
	PushReference(ctx context.Context, desc Descriptor, r io.Reader, tag string) error
}

// CopyOptions tune Copy. The zero value copies everything with 4 parallel
// transfers.
type CopyOptions struct {
	// Platforms selects from an index: none means the whole index; one
	// means just that platform's manifest, which becomes the copy's root;
	// several mean a new index holding just those.
	Platforms []Platform
	// Tag, if set, names the root in the destination.
	Tag string
	// Jobs bounds parallel blob transfers; 0 means 4.
	Jobs int
	// Foreign copies non-distributable layers too; by default they are
	// left where their URLs point.
	Foreign bool
	// Progress, if set, receives events from all transfers, possibly
	// concurrently.
	Progress func(Event)
}

// Event reports the progress of one blob or manifest.
type Event struct {
	Desc  Descriptor
	State State
	Bytes int64 // bytes moved so far, for StateProgress and StateDone
}

// State is the stage of a transfer an Event reports.
type State int

// The states of a transfer.
const (
	StateStart    State = iota // bytes are about to move
	StateProgress              // Bytes moved so far
	StateDone                  // all bytes moved and verified
	StateExists                // the destination had it
	StateMounted               // the destination mounted it from the source
	StateSkipped               // a foreign layer left out
)

// Copy copies the graph under root (an index, a manifest, their configs
// and layers) from src to dst: blobs first, largest first, Jobs at a time,
// skipping those dst has and mounting those it can; then manifests,
// children before parents. It returns the descriptor of the root it
// stored, which differs from root when Platforms selected from an index.
func Copy(ctx context.Context, dst Store, src Fetcher, root Descriptor, opts *CopyOptions) (Descriptor, error) {
	if opts == nil {
		opts = &CopyOptions{}
	}
	g := &graph{src: src, seen: map[Digest]bool{}}
	rootDoc, err := g.selectRoot(ctx, root, opts.Platforms)
	if err != nil {
		return Descriptor{}, err
	}
	if err := g.walk(ctx, rootDoc, 0, map[Digest]bool{}); err != nil {
		return Descriptor{}, err
	}
	c := &copier{dst: dst, src: src, opts: opts}
	if err := c.blobs(ctx, g.blobs); err != nil {
		return Descriptor{}, err
	}
	for _, doc := range g.docs[:len(g.docs)-1] {
		if err := c.manifest(ctx, doc, ""); err != nil {
			return Descriptor{}, err
		}
	}
	if err := c.manifest(ctx, rootDoc, opts.Tag); err != nil {
		return Descriptor{}, err
	}
	return rootDoc.Descriptor(), nil
}

// graph is what Copy moves: blobs deduplicated by digest, and documents
// in post-order (children before parents, the root last).
type graph struct {
	src   Fetcher
	seen  map[Digest]bool
	blobs []Descriptor
	docs  []*Document
}

// selectRoot fetches root and applies the platform selection.
func (g *graph) selectRoot(ctx context.Context, root Descriptor, platforms []Platform) (*Document, error) {
	doc, err := g.fetch(ctx, root)
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
		return g.fetch(ctx, picked[0])
	}
	idx := *doc.Index
	idx.Manifests = picked
	return Marshal(doc.MediaType, &idx)
}

func (g *graph) fetch(ctx context.Context, desc Descriptor) (*Document, error) {
	doc, err := FetchDocument(ctx, g.src, desc)
	if err != nil {
		return nil, fmt.Errorf("manifest: fetching %s: %w", desc.Digest, err)
	}
	return doc, nil
}

// walk adds doc's children to the graph, then doc. path holds the
// documents on the way down, to refuse cycles.
func (g *graph) walk(ctx context.Context, doc *Document, depth int, path map[Digest]bool) error {
	if depth > MaxDepth {
		return fmt.Errorf("manifest: index nesting deeper than %d at %s", MaxDepth, doc.Digest)
	}
	if path[doc.Digest] {
		return fmt.Errorf("manifest: index %s contains itself", doc.Digest)
	}
	if g.seen[doc.Digest] {
		return nil
	}
	path[doc.Digest] = true
	defer delete(path, doc.Digest)
	if doc.Index != nil {
		for _, child := range doc.Index.Manifests {
			if err := g.walkChild(ctx, child, depth, path); err != nil {
				return err
			}
		}
	} else {
		g.addBlob(doc.Manifest.Config)
		for _, l := range doc.Manifest.Layers {
			g.addBlob(l)
		}
	}
	g.seen[doc.Digest] = true
	g.docs = append(g.docs, doc)
	if len(g.docs) > MaxManifests {
		return fmt.Errorf("manifest: more than %d manifests under one root", MaxManifests)
	}
	return nil
}

func (g *graph) walkChild(ctx context.Context, child Descriptor, depth int, path map[Digest]bool) error {
	if path[child.Digest] {
		return fmt.Errorf("manifest: index %s contains itself", child.Digest)
	}
	if !IsIndex(child.MediaType) && !IsManifest(child.MediaType) {
		g.addBlob(child) // an artifact or unknown type: copy as a blob
		return nil
	}
	if g.seen[child.Digest] {
		return nil
	}
	doc, err := g.fetch(ctx, child)
	if err != nil {
		return err
	}
	return g.walk(ctx, doc, depth+1, path)
}

func (g *graph) addBlob(d Descriptor) {
	if !g.seen[d.Digest] {
		g.seen[d.Digest] = true
		g.blobs = append(g.blobs, d)
	}
}

// SelectPlatform returns the entry of idx for want, preferring an exact
// variant match; ErrNotFound wrapped with the platforms available
// otherwise.
func SelectPlatform(idx *Index, want Platform) (Descriptor, error) {
	var have []string
	for _, d := range idx.Manifests {
		if d.Platform == nil {
			continue
		}
		if d.Platform.Matches(want) {
			return d, nil
		}
		have = append(have, d.Platform.String())
	}
	return Descriptor{}, fmt.Errorf("%w: no manifest for platform %s (available: %v)", ErrNotFound, want, have)
}

// Marshal encodes v (a *Manifest or *Index) and parses the result, so the
// returned Document carries its raw bytes and digest.
func Marshal(mediaType string, v any) (*Document, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return Parse(raw, mediaType)
}

// copier moves content from src to dst.
type copier struct {
	dst  Store
	src  Fetcher
	opts *CopyOptions
}

// blobs transfers ds, largest first, opts.Jobs at a time; the first error
// cancels the rest.
func (c *copier) blobs(ctx context.Context, ds []Descriptor) error {
	ds = slices.Clone(ds)
	slices.SortStableFunc(ds, func(a, b Descriptor) int { return cmp.Compare(b.Size, a.Size) })
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan Descriptor)
	var wg sync.WaitGroup
	workers := c.opts.Jobs
	if workers <= 0 {
		workers = 4
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range jobs {
				if err := c.blob(ctx, d); err != nil {
					cancel(err)
				}
			}
		}()
	}
	for _, d := range ds {
		select {
		case jobs <- d:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	return context.Cause(ctx) // nil unless a transfer failed or ctx ended
}

// blob moves one blob unless dst has it, mounts it, or it is foreign.
func (c *copier) blob(ctx context.Context, d Descriptor) error {
	if IsForeign(d.MediaType) && !c.opts.Foreign {
		c.event(d, StateSkipped, 0)
		return nil
	}
	if ok, err := c.dst.Exists(ctx, d); err != nil {
		return err
	} else if ok {
		c.event(d, StateExists, d.Size)
		return nil
	}
	if m, ok := c.dst.(Mounter); ok {
		if mounted, err := m.MountFrom(ctx, d, c.src); err != nil {
			return err
		} else if mounted {
			c.event(d, StateMounted, d.Size)
			return nil
		}
	}
	if rp, ok := c.dst.(ResumingPusher); ok {
		return c.resumable(ctx, rp, d)
	}
	return c.transfer(ctx, d, func(r io.Reader) error { return c.dst.Push(ctx, d, r) })
}

// transfer fetches d from src and hands the verified stream to push.
func (c *copier) transfer(ctx context.Context, d Descriptor, push func(io.Reader) error) error {
	rc, err := c.src.Fetch(ctx, d)
	if err != nil {
		return fmt.Errorf("manifest: fetching %s: %w", d.Digest, err)
	}
	defer rc.Close()
	c.event(d, StateStart, 0)
	if err := push(c.watch(rc, d, 0)); err != nil {
		return fmt.Errorf("manifest: copying %s: %w", d.Digest, err)
	}
	c.event(d, StateDone, d.Size)
	return nil
}

// resumable hands d to a store that continues interrupted pushes, with
// the rest of d fetched from where the store's bytes end.
func (c *copier) resumable(ctx context.Context, rp ResumingPusher, d Descriptor) error {
	started := false
	open := func(offset int64) (io.ReadCloser, error) {
		rc, err := FetchFrom(ctx, c.src, d, offset)
		if err != nil {
			return nil, fmt.Errorf("manifest: fetching %s: %w", d.Digest, err)
		}
		if !started {
			started = true
			c.event(d, StateStart, offset)
		}
		return c.watch(rc, d, offset), nil
	}
	if err := rp.PushResumable(ctx, d, open); err != nil {
		return fmt.Errorf("manifest: copying %s: %w", d.Digest, err)
	}
	c.event(d, StateDone, d.Size)
	return nil
}

// watch reports the bytes read through rc to the progress function, if
// there is one, counting from offset.
func (c *copier) watch(rc io.ReadCloser, d Descriptor, offset int64) io.ReadCloser {
	if c.opts.Progress == nil {
		return rc
	}
	return &progressReader{r: rc, c: rc, desc: d, fn: c.opts.Progress, n: offset}
}

// manifest stores doc, under tag when one is given.
func (c *copier) manifest(ctx context.Context, doc *Document, tag string) error {
	d := doc.Descriptor()
	if tag != "" {
		if rp, ok := c.dst.(ReferencePusher); ok {
			return rp.PushReference(ctx, d, bytes.NewReader(doc.Raw), tag)
		}
	}
	if ok, err := c.dst.Exists(ctx, d); err != nil {
		return err
	} else if !ok {
		if err := c.dst.Push(ctx, d, bytes.NewReader(doc.Raw)); err != nil {
			return fmt.Errorf("manifest: pushing %s: %w", d.Digest, err)
		}
	}
	c.event(d, StateDone, d.Size)
	if tag == "" {
		return nil
	}
	return c.dst.Tag(ctx, d, tag)
}

func (c *copier) event(d Descriptor, s State, n int64) {
	if c.opts.Progress != nil {
		c.opts.Progress(Event{Desc: d, State: s, Bytes: n})
	}
}

// CopyBlobs copies blobs from src to dst as Copy does: skipping those dst
// has, mounting where dst can, largest first, opts.Jobs at a time. It
// suits edits that reuse a base image's layers in another repository.
func CopyBlobs(ctx context.Context, dst Store, src Fetcher, blobs []Descriptor, opts *CopyOptions) error {
	if opts == nil {
		opts = &CopyOptions{}
	}
	c := &copier{dst: dst, src: src, opts: opts}
	return c.blobs(ctx, blobs)
}
