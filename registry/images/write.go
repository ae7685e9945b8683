package images

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

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
	doc, err := im.Manifest()
	if err != nil {
		return manifest.Descriptor{}, err
	}
	if err := im.writeBlobs(ctx, dst, doc, opts); err != nil {
		return manifest.Descriptor{}, err
	}
	if opts.Wait != nil {
		if err := opts.Wait(); err != nil {
			return manifest.Descriptor{}, err
		}
	}
	return doc.Descriptor(), writeDocument(ctx, dst, doc, tag)
}

// writeBlobs stores every blob doc names in dst.
func (im *Image) writeBlobs(ctx context.Context, dst manifest.Store, doc *manifest.Document, opts *WriteOptions) error {
	var fromBase []manifest.Descriptor
	fresh := []manifest.Descriptor{doc.Manifest.Config}
	seen := map[manifest.Digest]bool{}
	for _, l := range doc.Manifest.Layers {
		switch {
		case seen[l.Digest] || slices.Contains(opts.Stored, l.Digest): // stored once, or already
		case im.added[l.Digest] != nil:
			fresh = append(fresh, l)
		default:
			fromBase = append(fromBase, l)
		}
		seen[l.Digest] = true
	}
	if h, ok := dst.(holder); len(fromBase) > 0 && (!ok || im.base == nil || !h.Holds(im.base)) {
		if im.base == nil {
			return fmt.Errorf("images: %d layers have no source", len(fromBase))
		}
		copyOpts := &CopyOptions{Jobs: opts.Jobs, Progress: opts.Progress}
		if err := CopyBlobs(ctx, dst, im.base, fromBase, copyOpts); err != nil {
			return err
		}
	}
	return im.pushAll(ctx, dst, fresh, opts)
}

// pushAll pushes ds, read from the image, opts.Jobs at a time: new
// layers and the config depend on nothing and nobody else has them. The
// first error cancels the rest.
func (im *Image) pushAll(ctx context.Context, dst manifest.Store, ds []manifest.Descriptor, opts *WriteOptions) error {
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = 4
	}
	g := newGroup(ctx, jobs)
	for _, d := range ds {
		if !g.Go(func(ctx context.Context) error { return im.push(ctx, dst, d, opts.Progress) }) {
			break
		}
	}
	return g.Wait()
}

func (im *Image) push(ctx context.Context, dst manifest.Store, d manifest.Descriptor, progress func(manifest.Event)) error {
	event := func(s manifest.State, n int64) {
		if progress != nil {
			progress(manifest.Event{Desc: d, State: s, Bytes: n})
		}
	}
	rc, err := im.Fetch(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	event(manifest.StateStart, 0)
	var r io.Reader = rc
	if progress != nil {
		r = manifest.ObserveReader(rc, d, 0, progress)
	}
	if err := dst.Push(ctx, d, r); err != nil {
		return fmt.Errorf("images: pushing %s: %w", d.Digest, err)
	}
	event(manifest.StateDone, d.Size)
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
