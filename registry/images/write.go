package images

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

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
}

// holder is implemented by stores that can tell that a Fetcher is
// themselves (the same repository, the same layout), so that every blob
// it holds they hold: registry.Repository and layout.Layout.
type holder interface {
	Holds(src manifest.Fetcher) bool
}

// Write stores the image in dst (a registry.Repository or a
// layout.Layout), named tag unless tag is "", and returns its manifest's
// descriptor. The base's layers are not checked when dst is the store
// the image was opened from; otherwise they are copied as
// CopyBlobs does: skipped when dst has them, mounted within one
// registry, streamed across, never to disk. The new layers and the config
// are pushed side by side, and the manifest last.
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
	im       *Image
	dst      manifest.Store
	opts     *WriteOptions
	doc      *manifest.Document
	fresh    []manifest.Descriptor // the config and new layers, pushed from the image
	fromBase []manifest.Descriptor // the base's layers, copied as CopyBlobs does
}

// planWrite sorts the blobs doc names: the new ones, the base's that dst
// needs, and those it has (the base's own store) or the caller stores.
func (im *Image) planWrite(dst manifest.Store, opts *WriteOptions) (*imageWrite, error) {
	doc, err := im.Manifest()
	if err != nil {
		return nil, err
	}
	w := &imageWrite{im: im, dst: dst, opts: opts, doc: doc, fresh: []manifest.Descriptor{doc.Manifest.Config}}
	seen := map[manifest.Digest]bool{}
	for _, l := range doc.Manifest.Layers {
		switch {
		case seen[l.Digest] || slices.Contains(opts.Stored, l.Digest): // stored once, or already
		case im.added[l.Digest] != nil:
			w.fresh = append(w.fresh, l)
		default:
			w.fromBase = append(w.fromBase, l)
		}
		seen[l.Digest] = true
	}
	if h, ok := dst.(holder); ok && im.base != nil && h.Holds(im.base) {
		w.fromBase = nil // dst is the base's store: it has them
	} else if len(w.fromBase) > 0 && im.base == nil {
		return nil, fmt.Errorf("images: %d layers have no source", len(w.fromBase))
	}
	return w, nil
}

// moves lists the blobs the write handles.
func (w *imageWrite) moves() []manifest.Descriptor {
	return append(slices.Clone(w.fresh), w.fromBase...)
}

// blobs stores the base's layers dst needs, then the new blobs, reporting
// to progress.
func (w *imageWrite) blobs(ctx context.Context, progress *tally.Counter) error {
	jobs := w.opts.Jobs
	if jobs <= 0 {
		jobs = 4
	}
	if len(w.fromBase) > 0 {
		c := &copier{dst: w.dst, src: w.im.base, opts: &CopyOptions{Jobs: jobs}, progress: progress}
		if err := c.blobs(ctx, w.fromBase); err != nil {
			return err
		}
	}
	// The config and new layers depend on nothing and nobody else has
	// them: pushed Jobs at a time, the first error cancelling the rest.
	g := newGroup(ctx, jobs)
	for _, d := range w.fresh {
		if !g.Go(func(ctx context.Context) error { return w.im.push(ctx, w.dst, d, progress) }) {
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
