package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync"

	"github.com/skiffoci/skiff/manifest"
)

// WriteOptions tune Write. The zero value, or nil, moves 4 blobs at a
// time and reports nothing.
type WriteOptions struct {
	// Jobs bounds the base's blobs copied at a time; 0 means 4.
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

// writeBlobs stores every blob doc names in dst: the new layers and an
// edited config pushed, the others copied from the stores that hold them
// (skipped when dst is that store), all at once.
func (im *Image) writeBlobs(ctx context.Context, dst manifest.Store, doc *manifest.Document, opts *WriteOptions) error {
	var groups []blobGroup
	var fresh []manifest.Descriptor
	if im.orig != nil && doc.Manifest.Config.Digest == im.orig.Manifest.Config.Digest {
		groups = addToGroup(groups, im.base, doc.Manifest.Config)
	} else {
		fresh = append(fresh, doc.Manifest.Config)
	}
	seen := map[manifest.Digest]bool{}
	for _, l := range doc.Manifest.Layers {
		switch {
		case seen[l.Digest] || slices.Contains(opts.Stored, l.Digest): // stored once, or already
		case im.added[l.Digest] != nil:
			fresh = append(fresh, l)
		default:
			groups = addToGroup(groups, im.source(l.Digest), l)
		}
		seen[l.Digest] = true
	}
	copyOpts := &CopyOptions{Jobs: opts.Jobs, Progress: opts.Progress, Pool: opts.Pool}
	if copyOpts.Pool == nil && len(groups) > 1 {
		copyOpts.Pool = NewPool(opts.Jobs) // one bound for the copies from every store
	}
	errs := make([]error, len(groups)+1)
	var wg sync.WaitGroup
	for i, g := range groups {
		if h, ok := dst.(holder); ok && g.src != nil && h.Holds(g.src) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g.src == nil {
				errs[i] = fmt.Errorf("images: %d layers have no source", len(g.blobs))
				return
			}
			errs[i] = CopyBlobs(ctx, dst, g.src, g.blobs, copyOpts)
		}()
	}
	errs[len(groups)] = im.pushAll(ctx, dst, fresh, opts)
	wg.Wait()
	return errors.Join(errs...)
}

// blobGroup is blobs one store holds.
type blobGroup struct {
	src   manifest.Fetcher
	blobs []manifest.Descriptor
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

// pushAll pushes ds, read from the image, all at once: new layers and
// the config depend on nothing and nobody else has them.
func (im *Image) pushAll(ctx context.Context, dst manifest.Store, ds []manifest.Descriptor, opts *WriteOptions) error {
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = im.push(ctx, dst, d, opts.Progress)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
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
