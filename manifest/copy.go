package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
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
// src is not such a store (then without a request) or the server
// declined. Copy tries it after checking that dst lacks the blob.
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
	// several mean a new index holding just those, in that order, unless
	// they are every entry of the index, which is then copied as it is.
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
	// Referrers copies what refers to the images too: signatures,
	// attestations and SBOMs, found as Walk finds them.
	Referrers bool
	// Pool, if set, bounds the blob transfers of this copy together with
	// those of every other copy that shares it; Jobs then defaults to
	// the pool's size.
	Pool *Pool
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
	g, err := Walk(ctx, src, root, &WalkOptions{Platforms: opts.Platforms, Referrers: opts.Referrers})
	if err != nil {
		return Descriptor{}, err
	}
	return g.Root.Descriptor(), CopyGraph(ctx, dst, src, g, opts)
}

// CopyGraph copies what Walk found under a root from src to dst, as Copy
// does: the blobs, then the documents (children before parents, the
// root tagged opts.Tag, referrers after their subjects), then the
// documents cosign names by tag, under those tags.
func CopyGraph(ctx context.Context, dst Store, src Fetcher, g *Graph, opts *CopyOptions) error {
	if opts == nil {
		opts = &CopyOptions{}
	}
	c := &copier{dst: dst, src: src, opts: opts}
	if err := c.blobs(ctx, g.Blobs); err != nil {
		return err
	}
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
func (g *Graph) split() (image, referrers []*Document) {
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
func levels(docs []*Document) [][]*Document {
	level := map[Digest]int{}
	var out [][]*Document
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

// manifests pushes docs at once; root, if among them, under tag.
func (c *copier) manifests(ctx context.Context, docs []*Document, root *Document, tag string) error {
	errs := make([]error, len(docs))
	var wg sync.WaitGroup
	for i, doc := range docs {
		t := ""
		if doc == root {
			t = tag
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.manifest(ctx, doc, t)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
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
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Size > ds[j].Size })
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan Descriptor)
	var wg sync.WaitGroup
	workers := c.opts.Jobs
	switch {
	case workers <= 0 && c.opts.Pool != nil:
		workers = c.opts.Pool.Size()
	case workers <= 0:
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
	if p := c.opts.Pool; p != nil {
		release, err := p.acquire(ctx, d.Digest)
		if err != nil {
			return err
		}
		defer release()
		if p.stored(c.dst, d.Digest) {
			c.event(d, StateExists, d.Size)
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
func (c *copier) store(ctx context.Context, d Descriptor) error {
	// The check comes before a mount, though a mount alone would answer
	// too: distribution rewrites the link of a blob it mounts, and a
	// manifest another client pushes meanwhile can find it empty.
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

// transfer fetches d from src and hands the verified stream to push. The
// fetch starts while push opens its side (an upload session takes a
// round trip of its own), and the first read waits for it.
func (c *copier) transfer(ctx context.Context, d Descriptor, push func(io.Reader) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := &pendingFetch{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		rc, err := c.src.Fetch(ctx, d)
		if err != nil {
			f.err = fmt.Errorf("manifest: fetching %s: %w", d.Digest, err)
			return
		}
		f.rc = c.watch(rc, d, 0)
	}()
	defer f.close()
	c.event(d, StateStart, 0)
	if err := push(f); err != nil {
		if f.wait() != nil {
			return f.err
		}
		return fmt.Errorf("manifest: copying %s: %w", d.Digest, err)
	}
	c.event(d, StateDone, d.Size)
	return nil
}

// pendingFetch is a reader of a fetch still under way: its first Read
// waits for the fetch. It passes on what the fetched reader verifies, so
// a store hashes the bytes once.
type pendingFetch struct {
	done chan struct{}
	rc   io.ReadCloser
	err  error
}

func (f *pendingFetch) wait() error {
	<-f.done
	return f.err
}

func (f *pendingFetch) Read(p []byte) (int, error) {
	if err := f.wait(); err != nil {
		return 0, err
	}
	return f.rc.Read(p)
}

func (f *pendingFetch) hashing() *verifier {
	if f.wait() != nil {
		return nil
	}
	return hashingOf(f.rc)
}

func (f *pendingFetch) hashState() (int64, []byte, bool) {
	if f.wait() != nil {
		return 0, nil, false
	}
	return HashState(f.rc)
}

// close closes the fetched reader once the fetch is done (the deferred
// cancel ends a fetch nobody read).
func (f *pendingFetch) close() {
	go func() {
		if f.wait() == nil {
			f.rc.Close()
		}
	}()
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
	// No check first: a manifest is small, and storing it again costs one
	// request, as the check would (stores skip what they hold).
	if err := c.dst.Push(ctx, d, bytes.NewReader(doc.Raw)); err != nil {
		return fmt.Errorf("manifest: pushing %s: %w", d.Digest, err)
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
