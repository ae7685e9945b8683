package images

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/skiffoci/skiff/internal/tally"
	"github.com/skiffoci/skiff/manifest"
)

// CopyOptions tune CopyDescriptor, CopyGraph and CopyBlobs. The zero
// value copies everything with 4 parallel transfers.
type CopyOptions struct {
	// Platforms selects from an index: none means the whole index; one
	// means just that platform's manifest, which becomes the copy's root;
	// several mean a new index holding just those, in that order, unless
	// they are every entry of the index, which is then copied as it is.
	Platforms []manifest.Platform
	// Tag, if set, names the root in the destination.
	Tag string
	// Jobs bounds everything the copy does at once: documents fetched
	// while walking, blobs moved, manifests pushed; 0 means 4, or the
	// Pool's size when there is a Pool.
	Jobs int
	// Foreign copies non-distributable layers too; by default they are
	// left where their URLs point.
	Foreign bool
	// Progress, if set, receives events from all transfers, possibly
	// concurrently.
	Progress func(manifest.Event)
	// Referrers copies what refers to the images too: signatures,
	// attestations and SBOMs, found as Walk finds them.
	Referrers bool
	// Pool, if set, bounds the blob transfers of this copy together with
	// those of every other copy that shares it; Jobs then defaults to
	// the pool's size.
	Pool *Pool
}

// CopyDescriptor copies the graph under root (an index, a manifest,
// their configs and layers) from src to dst, two stores the caller holds
// (Copy does the same between locations): blobs first, largest first,
// Jobs at a time, skipping those dst has and mounting those it can; then
// manifests, children before parents. It returns the descriptor of the root it
// stored, which differs from root when Platforms selected from an index.
func CopyDescriptor(ctx context.Context, dst manifest.Store, src manifest.Fetcher, root manifest.Descriptor, opts *CopyOptions) (manifest.Descriptor, error) {
	if opts == nil {
		opts = &CopyOptions{}
	}
	g, err := Walk(ctx, src, root, &WalkOptions{Platforms: opts.Platforms, Referrers: opts.Referrers, Jobs: opts.jobs()})
	if err != nil {
		return manifest.Descriptor{}, err
	}
	return g.Root.Descriptor(), CopyGraph(ctx, dst, src, g, opts)
}

// CopyGraph copies what Walk found under a root from src to dst, as
// CopyDescriptor does: the blobs, then the documents (children before parents, the
// root tagged opts.Tag, referrers after their subjects), then the
// documents cosign names by tag, under those tags.
func CopyGraph(ctx context.Context, dst manifest.Store, src manifest.Fetcher, g *Graph, opts *CopyOptions) error {
	if opts == nil {
		opts = &CopyOptions{}
	}
	c := &copier{dst: dst, src: src, opts: opts, progress: tally.New(g.Blobs, opts.Progress)}
	return c.graph(ctx, g)
}

// graph copies g: the blobs, then the documents.
func (c *copier) graph(ctx context.Context, g *Graph) error {
	if err := c.blobs(ctx, g.Blobs); err != nil {
		return err
	}
	opts := c.opts
	image, referrers := g.split()
	for _, level := range levels(image) {
		if err := c.manifests(ctx, level, g.Root, opts.Tag); err != nil {
			return err
		}
	}
	// Referrers one at a time: on a registry without the referrers API,
	// each push updates its subject's tag-schema index.
	for _, doc := range referrers {
		if err := c.manifest(ctx, doc, ""); err != nil {
			return err
		}
	}
	for _, t := range g.Tagged {
		if err := c.manifest(ctx, t.Doc, t.Tag); err != nil {
			return err
		}
	}
	return nil
}

// split parts g's documents into the image's (up to the root) and those
// that refer to it (after the root).
func (g *Graph) split() (image, referrers []*manifest.Document) {
	for i, d := range g.Docs {
		if d == g.Root {
			return g.Docs[:i+1], g.Docs[i+1:]
		}
	}
	return g.Docs, nil
}

// levels groups docs (children before parents) so that every document
// comes after the documents it names: manifests first, then the indexes
// of manifests, and so on. The documents of one level can be pushed at
// once.
func levels(docs []*manifest.Document) [][]*manifest.Document {
	level := map[manifest.Digest]int{}
	var out [][]*manifest.Document
	for _, d := range docs {
		n := 0
		if d.Index != nil {
			for _, child := range d.Index.Manifests {
				if l, ok := level[child.Digest]; ok {
					n = max(n, l+1)
				}
			}
		}
		level[d.Digest] = n
		for len(out) <= n {
			out = append(out, nil)
		}
		out[n] = append(out[n], d)
	}
	return out
}

// manifests pushes docs, opts.Jobs at a time; root, if among them, under
// tag. The first error cancels the rest.
func (c *copier) manifests(ctx context.Context, docs []*manifest.Document, root *manifest.Document, tag string) error {
	g := newGroup(ctx, c.opts.jobs())
	for _, doc := range docs {
		t := ""
		if doc == root {
			t = tag
		}
		if !g.Go(func(ctx context.Context) error { return c.manifest(ctx, doc, t) }) {
			break
		}
	}
	return g.Wait()
}

// copier moves content from src to dst.
type copier struct {
	dst      manifest.Store
	src      manifest.Fetcher
	opts     *CopyOptions
	progress *tally.Counter // opts.Progress, with the totals of the transfer
}

// blobs transfers ds, largest first, opts.Jobs at a time; the first error
// cancels the rest.
func (c *copier) blobs(ctx context.Context, ds []manifest.Descriptor) error {
	ds = slices.Clone(ds)
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Size > ds[j].Size })
	g := newGroup(ctx, c.opts.jobs())
	for _, d := range ds {
		if !g.Go(func(ctx context.Context) error { return c.blob(ctx, d) }) {
			break
		}
	}
	return g.Wait()
}

// jobs is how many things a copy does at once.
func (o *CopyOptions) jobs() int {
	switch {
	case o.Jobs > 0:
		return o.Jobs
	case o.Pool != nil:
		return o.Pool.Size()
	}
	return 4
}

// blob moves one blob unless dst has it, mounts it, or it is foreign.
func (c *copier) blob(ctx context.Context, d manifest.Descriptor) error {
	if manifest.IsForeign(d.MediaType) && !c.opts.Foreign {
		c.event(d, manifest.StateSkipped, 0)
		return nil
	}
	if p := c.opts.Pool; p != nil {
		release, err := p.acquire(ctx, d.Digest)
		if err != nil {
			return err
		}
		defer release()
		if p.stored(c.dst, d.Digest) {
			c.event(d, manifest.StateExists, d.Size)
			return nil
		}
		if err := c.store(ctx, d); err != nil {
			return err
		}
		p.markStored(c.dst, d.Digest)
		return nil
	}
	return c.store(ctx, d)
}

// store mounts, skips or moves one blob.
func (c *copier) store(ctx context.Context, d manifest.Descriptor) error {
	// The check comes before a mount, though a mount alone would answer
	// too: distribution rewrites the link of a blob it mounts, and a
	// manifest another client pushes meanwhile can find it empty.
	if ok, err := c.dst.Exists(ctx, d); err != nil {
		return err
	} else if ok {
		c.event(d, manifest.StateExists, d.Size)
		return nil
	}
	if m, ok := c.dst.(manifest.Mounter); ok {
		if mounted, err := m.MountFrom(ctx, d, c.src); err != nil {
			return err
		} else if mounted {
			c.event(d, manifest.StateMounted, d.Size)
			return nil
		}
	}
	if rp, ok := c.dst.(manifest.ResumingPusher); ok {
		return c.resumable(ctx, rp, d)
	}
	return c.transfer(ctx, d, func(r io.Reader) error { return c.dst.Push(ctx, d, r) })
}

// transfer fetches d from src and hands the verified stream to push. The
// fetch starts while push opens its side (an upload session takes a
// round trip of its own), and the first read waits for it.
func (c *copier) transfer(ctx context.Context, d manifest.Descriptor, push func(io.Reader) error) error {
	f := manifest.FetchAsync(ctx, c.src, d, c.progress.Func())
	defer f.Close()
	c.event(d, manifest.StateStart, 0)
	if err := push(f); err != nil {
		if ferr := f.Wait(); ferr != nil {
			return ferr
		}
		return fmt.Errorf("images: copying %s: %w", d.Digest, err)
	}
	c.event(d, manifest.StateDone, d.Size)
	return nil
}

// resumable hands d to a store that continues interrupted pushes, with
// the rest of d fetched from where the store's bytes end.
func (c *copier) resumable(ctx context.Context, rp manifest.ResumingPusher, d manifest.Descriptor) error {
	started := false
	open := func(offset int64) (io.ReadCloser, error) {
		rc, err := manifest.FetchFrom(ctx, c.src, d, offset)
		if err != nil {
			return nil, fmt.Errorf("images: fetching %s: %w", d.Digest, err)
		}
		if !started {
			started = true
			c.event(d, manifest.StateStart, offset)
		}
		return c.watch(rc, d, offset), nil
	}
	if err := rp.PushResumable(ctx, d, open); err != nil {
		return fmt.Errorf("images: copying %s: %w", d.Digest, err)
	}
	c.event(d, manifest.StateDone, d.Size)
	return nil
}

// watch reports the bytes read through rc to the progress function, if
// there is one, counting from offset.
func (c *copier) watch(rc io.ReadCloser, d manifest.Descriptor, offset int64) io.ReadCloser {
	if c.progress == nil {
		return rc
	}
	return manifest.ObserveReader(rc, d, offset, c.progress.Event)
}

// manifest stores doc, under tag when one is given.
func (c *copier) manifest(ctx context.Context, doc *manifest.Document, tag string) error {
	d := doc.Descriptor()
	if tag != "" {
		if rp, ok := c.dst.(manifest.ReferencePusher); ok {
			return rp.PushReference(ctx, d, bytes.NewReader(doc.Raw), tag)
		}
	}
	// No check first: a manifest is small, and storing it again costs one
	// request, as the check would (stores skip what they hold).
	if err := c.dst.Push(ctx, d, bytes.NewReader(doc.Raw)); err != nil {
		return fmt.Errorf("images: pushing %s: %w", d.Digest, err)
	}
	c.event(d, manifest.StateDone, d.Size)
	if tag == "" {
		return nil
	}
	return c.dst.Tag(ctx, d, tag)
}

func (c *copier) event(d manifest.Descriptor, s manifest.State, n int64) {
	c.progress.Event(manifest.Event{Desc: d, State: s, Bytes: n})
}

// CopyBlobs copies blobs from src to dst as CopyDescriptor does: skipping those dst
// has, mounting where dst can, largest first, opts.Jobs at a time. It
// suits edits that reuse a base image's layers in another repository.
func CopyBlobs(ctx context.Context, dst manifest.Store, src manifest.Fetcher, blobs []manifest.Descriptor, opts *CopyOptions) error {
	if opts == nil {
		opts = &CopyOptions{}
	}
	c := &copier{dst: dst, src: src, opts: opts, progress: tally.New(blobs, opts.Progress)}
	return c.blobs(ctx, blobs)
}
