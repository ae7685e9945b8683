package images

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// UpdateAttempts bounds how many times UpdateIndex pushes an index that
// other writers keep replacing.
const UpdateAttempts = 8

// Bounds of the wait before UpdateIndex reads its push back.
const (
	minSettle = 50 * time.Millisecond
	maxSettle = 2 * time.Second
)

// UpdateIndex applies edit to the index at dst (a registry reference named
// by tag, or "oci:DIR:TAG") and writes the result there, as `skiff index
// add`, `remove` and `annotate` do, and returns the descriptor of an index
// that holds the change. A dst that does not exist is an empty index
// (NewIndex), unless edit fails on it: then the error says that dst does
// not exist. The entries dst lacks are stored first (mounted within a
// registry, streamed across, skipped when present) and the index last.
//
// Registries have no compare-and-swap for tags: two writers that read the
// same index and push their edits at once lose one of them. UpdateIndex
// converges with other writers that do as it does. The index is read
// again right before the push, once entries had to be stored, so that the
// time between reading and pushing it stays short; after pushing,
// UpdateIndex waits for about that time again, randomized (at least 50 ms,
// at most 4 s), and reads the tag back. If another writer's push replaced
// its own, it applies edit to what is there now, unless that holds the
// change already, and pushes again after a random wait that doubles each
// time (up to 0.8 s), at most UpdateAttempts times; then it gives up
// with an error.
// An edit must therefore give the same result when applied again; on a
// later attempt, an edit that fails with manifest.ErrNotFound (the entry
// it removes or annotates is gone) counts as done.
//
// The limits: every writer must re-read as UpdateIndex does. A writer
// that never reads back (crane index append, regctl index add, docker
// manifest push, skiff index create, a plain copy) can still replace the
// index after UpdateIndex has checked it, and a writer whose read and push
// are further apart than the others' wait can too. A registry that serves
// a stale tag for a while after a push (behind a cache) can hide a lost
// update from the check.
func UpdateIndex(ctx context.Context, dst string, edit func(*Index) (*Index, error), opts *Options) (manifest.Descriptor, error) {
	loc, err := ParseLocation(dst)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	if err := updatable(loc); err != nil {
		return manifest.Descriptor{}, err
	}
	opts = opts.withClient()
	store, tag, done, err := opts.destination(loc)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	u := &updater{loc: loc, store: store, read: readerOf(store), tag: tag, edit: edit,
		opts: &WriteOptions{Jobs: opts.Jobs, Progress: opts.Progress}, written: map[manifest.Digest]bool{}}
	desc, err := u.run(ctx)
	return desc, done(err)
}

// updatable refuses what UpdateIndex cannot update: anything but a
// registry tag or a layout's tag.
func updatable(loc Location) error {
	switch {
	case loc.Kind == KindRegistry && loc.Ref.Digest != "":
		return fmt.Errorf("images: %s names a digest, which an edit changes: name the index by its tag", loc)
	case loc.Kind == KindOCI && loc.Name == "":
		return fmt.Errorf("images: %s: name the index's tag (oci:DIR:TAG)", loc)
	case loc.Kind != KindRegistry && loc.Kind != KindOCI:
		return fmt.Errorf("images: %s: an index is updated in a registry or an OCI layout", loc)
	}
	return nil
}

// readerOf is where the index in store is read from: a registry's
// origin, never one of its mirrors, which may lag behind.
func readerOf(store manifest.Store) manifest.ReadOnlyStore {
	if r, ok := store.(*registry.Repository); ok {
		return r.Origin()
	}
	return store.(manifest.ReadOnlyStore)
}

// updater is one UpdateIndex.
type updater struct {
	loc     Location
	store   manifest.Store
	read    manifest.ReadOnlyStore
	tag     string
	edit    func(*Index) (*Index, error)
	opts    *WriteOptions
	written map[manifest.Digest]bool // entries stored by an earlier pass
}

// run reads, edits, pushes and checks until the tag holds the change.
func (u *updater) run(ctx context.Context) (manifest.Descriptor, error) {
	for attempt := 0; ; {
		cur, curDoc, err := u.current(ctx)
		if err != nil {
			return manifest.Descriptor{}, err
		}
		read := time.Now()
		next, err := u.edit(cur)
		switch {
		case err != nil && attempt > 0 && errors.Is(err, manifest.ErrNotFound):
			return curDoc.Descriptor(), nil // what the edit needed is gone: nothing left to do
		case err != nil && curDoc == nil:
			return manifest.Descriptor{}, fmt.Errorf("images: %s does not exist: %w", u.loc, err)
		case err != nil:
			return manifest.Descriptor{}, err
		}
		doc, err := next.Document()
		if err != nil {
			return manifest.Descriptor{}, err
		}
		if curDoc != nil && doc.Digest == curDoc.Digest {
			return doc.Descriptor(), nil // the change is there
		}
		if stored, err := u.storeEntries(ctx, next); err != nil || stored {
			if err != nil {
				return manifest.Descriptor{}, err
			}
			continue // read again: storing took a while
		}
		if err := writeDocument(ctx, u.store, doc, u.tag); err != nil {
			return manifest.Descriptor{}, err
		}
		if ok, err := u.held(ctx, doc, settle(time.Since(read))); ok || err != nil {
			return doc.Descriptor(), err
		}
		if attempt++; attempt >= UpdateAttempts {
			return manifest.Descriptor{}, fmt.Errorf("images: %s: other writers replaced the index %d times; gave up", u.loc, attempt)
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return manifest.Descriptor{}, err
		}
	}
}

// current reads the index at the tag: nil doc when there is none.
func (u *updater) current(ctx context.Context) (*Index, *manifest.Document, error) {
	doc, err := fetchRef(ctx, u.read, u.tag)
	if errors.Is(err, manifest.ErrNotFound) {
		ix, _ := NewIndex()
		return ix, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("images: %s: %w", u.loc, err)
	}
	if doc.Index == nil {
		return nil, nil, fmt.Errorf("images: %s is a single image, not an index", u.loc)
	}
	ix, err := newIndex(u.read, doc, u.loc.String())
	return ix, doc, err
}

// storeEntries stores the entries of ix that the store may lack and no
// earlier pass stored, and reports whether there were any.
func (u *updater) storeEntries(ctx context.Context, ix *Index) (bool, error) {
	var todo []manifest.Digest
	for i, d := range ix.index.Manifests {
		if !u.written[d.Digest] && ix.entries[i].needsWrite(u.store) {
			todo = append(todo, d.Digest)
		}
	}
	if len(todo) == 0 {
		return false, nil
	}
	if err := ix.writeEntries(ctx, u.store, u.opts, u.written); err != nil {
		return true, err
	}
	for _, d := range todo {
		u.written[d] = true
	}
	return true, nil
}

// held waits for wait, then reads the tag back and reports whether it is
// still doc.
func (u *updater) held(ctx context.Context, doc *manifest.Document, wait time.Duration) (bool, error) {
	if err := sleep(ctx, wait); err != nil {
		return false, err
	}
	now, err := u.read.Resolve(ctx, u.tag)
	if err != nil && !errors.Is(err, manifest.ErrNotFound) {
		return false, fmt.Errorf("images: %s: reading the index back: %w", u.loc, err)
	}
	return now.Digest == doc.Digest, nil
}

// settle is how long to wait before reading a push back: about as long
// as this writer took from reading the index to pushing it, which is how
// long another writer may take too, randomized.
func settle(window time.Duration) time.Duration {
	w := min(max(window, minSettle), maxSettle)
	return w + rand.N(w+1)
}

// backoff is the random wait before the next attempt after n lost ones.
func backoff(n int) time.Duration {
	return rand.N(minSettle << min(n, 4))
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
