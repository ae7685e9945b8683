package mirror

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// image mirrors one tag: it compares the roots on both sides, and walks
// and copies (or plans) the graph only when they differ, or when
// referrers are asked for, which may have been added to an image that
// did not change.
func (s *syncer) image(ctx context.Context, tag string) (Image, error) {
	im := Image{Tag: tag}
	have, err := s.targetDigest(ctx, tag)
	if err != nil {
		return im, err
	}
	root, err := s.sourceRoot(ctx, tag, have == "")
	if err != nil {
		return im, fmt.Errorf("at the source: %w", err)
	}
	if have == root.Digest && len(s.opts.Platforms) == 0 && !s.opts.Referrers {
		im.Digest, im.Action = have, Unchanged
		return im, nil
	}
	g, err := images.Walk(ctx, s.src, root, &images.WalkOptions{Platforms: s.opts.Platforms, Referrers: s.opts.Referrers})
	if err == nil && s.opts.OCIMediaTypes {
		g, err = g.ToOCI()
	}
	if err != nil {
		return im, err
	}
	im.Digest = g.Root.Digest
	same := have == g.Root.Digest
	if same && !s.opts.Referrers {
		im.Action = Unchanged
		return im, nil
	}
	docs := 0 // what the target lacks of an image it has: new referrers
	if same {
		if docs, err = s.missingDocs(ctx, g); err != nil {
			return im, err
		}
	}
	if s.opts.DryRun {
		err = s.plan(ctx, g, &im)
	} else {
		err = s.copy(ctx, g, &im)
	}
	if err == nil && same && docs == 0 && im.Blobs == 0 && im.Mounted == 0 {
		im.Action = Unchanged
	}
	return im, err
}

// manifestFetcher is implemented by sources that fetch a manifest by
// tag in one request, as registry.Repository does.
type manifestFetcher interface {
	FetchManifest(ctx context.Context, ref string) (*manifest.Document, error)
}

// sourceRoot resolves tag at the source. For a tag the target lacks,
// the manifest will be read anyway: a source that can fetches it at once
// and hands it to the walk in the descriptor, saving a request.
func (s *syncer) sourceRoot(ctx context.Context, tag string, fresh bool) (manifest.Descriptor, error) {
	mf, ok := s.src.(manifestFetcher)
	if !fresh || !ok {
		return s.src.Resolve(ctx, tag)
	}
	doc, err := mf.FetchManifest(ctx, tag)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	d := doc.Descriptor()
	d.Data = doc.Raw
	return d, nil
}

// targetDigest is the digest tag names at the target, or "" when it
// names nothing there.
func (s *syncer) targetDigest(ctx context.Context, tag string) (manifest.Digest, error) {
	d, err := s.dst.Resolve(ctx, tag)
	switch {
	case errors.Is(err, manifest.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("at the target: %w", err)
	}
	return d.Digest, nil
}

// missingDocs counts the documents of g the target lacks.
func (s *syncer) missingDocs(ctx context.Context, g *images.Graph) (int, error) {
	docs := slices.Clone(g.Docs)
	for _, t := range g.Tagged {
		docs = append(docs, t.Doc)
	}
	n := 0
	for _, d := range docs {
		ok, err := s.dst.Exists(ctx, d.Descriptor())
		if err != nil {
			return 0, fmt.Errorf("at the target: %w", err)
		}
		if !ok {
			n++
		}
	}
	return n, nil
}

// plan counts what copying g would move: the blobs the target lacks.
// Blobs a registry would mount count as moving.
func (s *syncer) plan(ctx context.Context, g *images.Graph, im *Image) error {
	for _, b := range g.Blobs {
		if manifest.IsForeign(b.MediaType) {
			continue
		}
		ok, err := s.dst.Exists(ctx, b)
		if err != nil {
			return fmt.Errorf("at the target: %w", err)
		}
		if ok {
			im.Skipped++
			im.SkippedBytes += b.Size
		} else {
			im.Blobs++
			im.Bytes += b.Size
		}
	}
	im.Action = WouldCopy
	return nil
}

// copy moves g and tags its root, counting what moved.
func (s *syncer) copy(ctx context.Context, g *images.Graph, im *Image) error {
	t := &tally{im: im, next: s.opts.Progress, blobs: map[manifest.Digest]bool{}, offset: map[manifest.Digest]int64{}}
	for _, b := range g.Blobs {
		t.blobs[b.Digest] = true
	}
	opts := &images.CopyOptions{Tag: im.Tag, Pool: s.pool, Progress: t.event}
	if err := images.CopyGraph(ctx, s.dst, s.src, g, opts); err != nil {
		return err
	}
	im.Action = Copied
	return nil
}

// tally counts a copy's blob events into an Image, and passes every
// event on.
type tally struct {
	mu     sync.Mutex
	im     *Image
	next   func(manifest.Event)
	blobs  map[manifest.Digest]bool  // the graph's blobs, not its documents
	offset map[manifest.Digest]int64 // where a resumed blob started
}

func (t *tally) event(e manifest.Event) {
	if t.next != nil {
		t.next(e)
	}
	d := e.Desc
	if !t.blobs[d.Digest] {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e.State {
	case manifest.StateStart:
		t.offset[d.Digest] = e.Bytes
	case manifest.StateDone:
		t.im.Blobs++
		t.im.Bytes += d.Size - t.offset[d.Digest]
	case manifest.StateMounted:
		t.im.Mounted++
		t.im.SkippedBytes += d.Size
	case manifest.StateExists:
		t.im.Skipped++
		t.im.SkippedBytes += d.Size
	}
}
