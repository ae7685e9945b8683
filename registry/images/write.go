package images

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"

	"github.com/skiffoci/skiff/internal/tally"
	"github.com/skiffoci/skiff/manifest"
)

// WriteOptions tune Write. The zero value, or nil, moves 4 blobs at a
// time and reports nothing.
type WriteOptions struct {
	// Jobs bounds the blobs moved at a time, the base's and the new
	// ones alike; 0 means 4.
	Jobs int
	// Progress, if set, receives the events of every blob, possibly
	// from several goroutines at once.
	Progress func(manifest.Event)
	// Stored lists blobs the caller puts in the destination itself (say,
	// a new layer pushed while the base was still being read): Write
	// does not push them.
	Stored []manifest.Digest
	// Wait, if set, is called once Write's own blobs are stored and
	// before the manifest goes up, to wait for the caller's (Stored); an
	// error from it stops Write.
	Wait func() error
	// Pool, if set, bounds the blobs copied from other stores together
	// with those of every other write or copy that shares it.
	Pool *Pool
}

// holder is implemented by stores that can tell that a Fetcher is
// themselves (the same repository, the same layout), so that every blob
// it holds they hold: registry.Repository and layout.Layout.
type holder interface {
	Holds(src manifest.Fetcher) bool
}

// Write stores the image in dst (a registry.Repository or a
// layout.Layout), named tag unless tag is "", and returns its manifest's
// descriptor. The blobs of a store are not checked when dst is that
// store (the one the image was opened from, or a new base's); otherwise
// they are copied as CopyBlobs does: skipped when dst has them, mounted
// within one registry, streamed across, never to disk. The new layers
// and an edited config are pushed beside them, Jobs at a time in all,
// and the manifest last.
func (im *Image) Write(ctx context.Context, dst manifest.Store, tag string, opts *WriteOptions) (manifest.Descriptor, error) {
	if opts == nil {
		opts = &WriteOptions{}
	}
	w, err := im.planWrite(dst, opts)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	if err := w.blobs(ctx, tally.New(w.moves(), opts.Progress)); err != nil {
		return manifest.Descriptor{}, err
	}
	if opts.Wait != nil {
		if err := opts.Wait(); err != nil {
			return manifest.Descriptor{}, err
		}
	}
	return w.doc.Descriptor(), writeDocument(ctx, dst, w.doc, tag)
}

// imageWrite is what writing an image to a store takes.
type imageWrite struct {
	im     *Image
	dst    manifest.Store
	opts   *WriteOptions
	doc    *manifest.Document
	fresh  []manifest.Descriptor // the new layers and an edited config, pushed from the image
	copies []blobGroup           // the others, copied as CopyBlobs does from the stores that hold them
}

// blobGroup is blobs one store holds.
type blobGroup struct {
	src   manifest.Fetcher
	blobs []manifest.Descriptor
}

// planWrite sorts the blobs doc names: the new ones, the others by the
// store that holds them, leaving out those dst has (it is their store)
// or the caller stores.
func (im *Image) planWrite(dst manifest.Store, opts *WriteOptions) (*imageWrite, error) {
	doc, err := im.Manifest()
	if err != nil {
		return nil, err
	}
	w := &imageWrite{im: im, dst: dst, opts: opts, doc: doc}
	if cfg := doc.Manifest.Config; im.orig != nil && cfg.Digest == im.orig.Manifest.Config.Digest {
		w.copies = addToGroup(w.copies, im.base, cfg)
	} else {
		w.fresh = append(w.fresh, cfg)
	}
	seen := map[manifest.Digest]bool{}
	for _, l := range doc.Manifest.Layers {
		switch {
		case seen[l.Digest] || slices.Contains(opts.Stored, l.Digest): // stored once, or already
		case im.added[l.Digest] != nil:
			w.fresh = append(w.fresh, l)
		default:
			w.copies = addToGroup(w.copies, im.source(l.Digest), l)
		}
		seen[l.Digest] = true
	}
	h, isHolder := dst.(holder)
	w.copies = slices.DeleteFunc(w.copies, func(g blobGroup) bool { return isHolder && g.src != nil && h.Holds(g.src) })
	for _, g := range w.copies {
		if g.src == nil {
			return nil, fmt.Errorf("images: %d layers have no source", len(g.blobs))
		}
	}
	return w, nil
}

// addToGroup adds d to the group of src, or to a new one.
func addToGroup(groups []blobGroup, src manifest.Fetcher, d manifest.Descriptor) []blobGroup {
	for i := range groups {
		if sameFetcher(groups[i].src, src) {
			groups[i].blobs = append(groups[i].blobs, d)
			return groups
		}
	}
	return append(groups, blobGroup{src: src, blobs: []manifest.Descriptor{d}})
}

// sameFetcher reports whether a and b are the same store; stores that
// cannot be compared never are.
func sameFetcher(a, b manifest.Fetcher) bool {
	t := reflect.TypeOf(a)
	return t == reflect.TypeOf(b) && (t == nil || t.Comparable() && a == b)
}

// moves lists the blobs the write handles.
func (w *imageWrite) moves() []manifest.Descriptor {
	out := slices.Clone(w.fresh)
	for _, g := range w.copies {
		out = append(out, g.blobs...)
	}
	return out
}

// blobs stores every blob of the write, copied and new alike, largest
// first and Jobs at a time (the copies also within opts.Pool), reporting
// to progress; the first error cancels the rest.
func (w *imageWrite) blobs(ctx context.Context, progress *tally.Counter) error {
	jobs := w.opts.Jobs
	if jobs <= 0 {
		jobs = 4
	}
	type move struct {
		d   manifest.Descriptor
		run func(context.Context) error
	}
	var moves []move
	for _, g := range w.copies {
		c := &copier{dst: w.dst, src: g.src, opts: &CopyOptions{Jobs: jobs, Pool: w.opts.Pool}, progress: progress}
		for _, d := range g.blobs {
			moves = append(moves, move{d, func(ctx context.Context) error { return c.blob(ctx, d) }})
		}
	}
	for _, d := range w.fresh {
		moves = append(moves, move{d, func(ctx context.Context) error { return w.im.push(ctx, w.dst, d, progress) }})
	}
	sort.SliceStable(moves, func(i, j int) bool { return moves[i].d.Size > moves[j].d.Size })
	g := newGroup(ctx, jobs)
	for _, m := range moves {
		if !g.Go(m.run) {
			break
		}
	}
	return g.Wait()
}

func (im *Image) push(ctx context.Context, dst manifest.Store, d manifest.Descriptor, progress *tally.Counter) error {
	rc, err := im.Fetch(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	progress.Event(manifest.Event{Desc: d, State: manifest.StateStart})
	var r io.Reader = rc
	if progress != nil {
		r = manifest.ObserveReader(rc, d, 0, progress.Event)
	}
	if err := dst.Push(ctx, d, r); err != nil {
		return fmt.Errorf("images: pushing %s: %w", d.Digest, err)
	}
	progress.Event(manifest.Event{Desc: d, State: manifest.StateDone, Bytes: d.Size})
	return nil
}

// writeDocument stores doc in dst, under tag unless it is "".
func writeDocument(ctx context.Context, dst manifest.Store, doc *manifest.Document, tag string) error {
	d := doc.Descriptor()
	if rp, ok := dst.(manifest.ReferencePusher); ok && tag != "" {
		return rp.PushReference(ctx, d, bytes.NewReader(doc.Raw), tag)
	}
	if err := dst.Push(ctx, d, bytes.NewReader(doc.Raw)); err != nil {
		return err
	}
	if tag == "" {
		return nil
	}
	return dst.Tag(ctx, d, tag)
}
