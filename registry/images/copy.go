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
	// Jobs bounds what the copy does at once: documents fetched while
	// walking, manifests pushed; blobs checked (is it there, can it be
	// mounted), each small one (up to 1 MiB) moved by its check, and,
	// beside the checks, larger blobs moved. 0 means 4, or the Pool's
	// size when there is a Pool, whose slots then bound the checks and
	// moves of every copy that shares it together.
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
	return copyGraph(ctx, dst, src, g, opts, tally.New(g.Blobs, opts.Progress))
}

// copyGraph is CopyGraph reporting through progress, a counter of g's
// blobs the caller may also hand to what reports some of them by itself
// (a layout fetching big blobs in ranges).
func copyGraph(ctx context.Context, dst manifest.Store, src manifest.Fetcher, g *Graph, opts *CopyOptions, progress *tally.Counter) error {
	c := &copier{dst: dst, src: src, opts: opts, progress: progress}
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

// blobs transfers ds, largest first. Each blob is checked (is it in dst,
// can it be mounted?) and, when small, moved by its check, opts.Jobs
// checks at a time; the larger blobs the checks find missing move
// opts.Jobs at a time beside them. A small blob's move is a round trip or
// two, and so a check never waits for a large move, nor a move for the
// checks of other blobs: over a long link the round trips of the checks
// and the small blobs pass while the large ones stream. With a Pool, each
// blob holds one of its slots from its check to the end of its move. The
// first error cancels the rest.
func (c *copier) blobs(ctx context.Context, ds []manifest.Descriptor) error {
	ds = slices.Clone(ds)
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Size > ds[j].Size })
	if c.opts.Pool != nil {
		return c.pooled(ctx, ds)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	failing := func(f func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error {
			err := f(ctx)
			if err != nil {
				cancel(err)
			}
			return err
		}
	}
	large := make(chan manifest.Descriptor, len(ds)) // never blocks a check
	checked := make(chan error, 1)
	go func() {
		checks := newGroup(ctx, c.opts.jobs())
		for _, d := range ds {
			if !checks.Go(failing(func(ctx context.Context) error { return c.check(ctx, d, large) })) {
				break
			}
		}
		err := checks.Wait()
		close(large)
		checked <- err
	}()
	moves := newGroup(ctx, c.opts.jobs())
	for d := range large {
		if !moves.Go(failing(func(ctx context.Context) error { return c.move(ctx, d) })) {
			break
		}
	}
	merr, cerr := moves.Wait(), <-checked
	if merr != nil || cerr != nil {
		return context.Cause(ctx)
	}
	return nil
}

// smallMove is the size up to which the check that finds a blob missing
// moves it too: a blob a registry takes in one request.
const smallMove = 1 << 20

// check skips d when it is foreign, in dst or mounted; else it moves d
// when d is small, and hands it to large otherwise.
func (c *copier) check(ctx context.Context, d manifest.Descriptor, large chan<- manifest.Descriptor) error {
	if c.leaveForeign(d) {
		return nil
	}
	if done, err := c.skip(ctx, d); err != nil || done {
		return err
	}
	if d.Size <= smallMove {
		return c.move(ctx, d)
	}
	large <- d
	return nil
}

// pooled transfers ds through the Pool's slots, largest first; the first
// error cancels the rest.
func (c *copier) pooled(ctx context.Context, ds []manifest.Descriptor) error {
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

// blob moves one blob, through the Pool if there is one, unless dst has
// it, mounts it, or it is foreign: its check and its move one after the
// other.
func (c *copier) blob(ctx context.Context, d manifest.Descriptor) error {
	if c.leaveForeign(d) {
		return nil
	}
	p := c.opts.Pool
	if p == nil {
		if done, err := c.skip(ctx, d); err != nil || done {
			return err
		}
		return c.move(ctx, d)
	}
	release, err := p.acquire(ctx, d.Digest)
	if err != nil {
		return err
	}
	defer release()
	if p.stored(c.dst, d.Digest) {
		c.event(d, manifest.StateExists, d.Size)
		return nil
	}
	if done, err := c.skip(ctx, d); err != nil {
		return err
	} else if !done {
		if err := c.move(ctx, d); err != nil {
			return err
		}
	}
	p.markStored(c.dst, d.Digest)
	return nil
}

// leaveForeign reports whether d is a foreign layer the copy leaves where
// its URLs point.
func (c *copier) leaveForeign(d manifest.Descriptor) bool {
	if manifest.IsForeign(d.MediaType) && !c.opts.Foreign {
		c.event(d, manifest.StateSkipped, 0)
		return true
	}
	return false
}

// skip reports whether d needs no move: dst has it, or mounted it.
func (c *copier) skip(ctx context.Context, d manifest.Descriptor) (bool, error) {
	// The check comes before a mount, though a mount alone would answer
	// too: distribution rewrites the link of a blob it mounts, and a
	// manifest another client pushes meanwhile can find it empty.
	if ok, err := c.dst.Exists(ctx, d); err != nil {
		return false, err
	} else if ok {
		c.event(d, manifest.StateExists, d.Size)
		return true, nil
	}
	if m, ok := c.dst.(manifest.Mounter); ok {
		if mounted, err := m.MountFrom(ctx, d, c.src); err != nil {
			return false, err
		} else if mounted {
			c.event(d, manifest.StateMounted, d.Size)
			return true, nil
		}
	}
	return false, nil
}

// move sends d from src to dst.
func (c *copier) move(ctx context.Context, d manifest.Descriptor) error {
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
