package registry

import (
	"context"
	"net/url"
	"sync"
)

// prepared holds upload sessions opened ahead of the pushes that use them.
type prepared struct {
	mu      sync.Mutex
	ready   []session
	pending int           // sessions still being opened
	changed chan struct{} // closed and replaced whenever ready or pending change
}

// session is an upload session opened ahead, or the error opening it.
type session struct {
	loc    *url.URL
	minLen int64
	err    error
}

// PrepareUploads opens n upload sessions in the background, so that the
// next n blob pushes to r start with their bytes instead of a round trip
// to open a session: an edit can open them while it still reads its base.
// DiscardUploads closes the sessions no push took.
func (r *Repository) PrepareUploads(ctx context.Context, n int) {
	p := &r.prepared
	p.mu.Lock()
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	p.pending += n
	p.mu.Unlock()
	for range n {
		go func() {
			loc, minLen, err := r.openUpload(ctx, "")
			p.mu.Lock()
			defer p.mu.Unlock()
			p.pending--
			if loc != nil || err != nil {
				p.ready = append(p.ready, session{loc, minLen, err})
			}
			close(p.changed)
			p.changed = make(chan struct{})
		}()
	}
}

// take returns a session opened ahead, waiting for one still being
// opened; ok is false when none is ready or coming.
func (p *prepared) take(ctx context.Context) (session, bool) {
	for {
		p.mu.Lock()
		if len(p.ready) > 0 {
			s := p.ready[0]
			p.ready = p.ready[1:]
			p.mu.Unlock()
			return s, true
		}
		if p.pending == 0 {
			p.mu.Unlock()
			return session{}, false
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return session{}, false
		}
	}
}

// DiscardUploads closes the sessions PrepareUploads opened that no push
// took, once those still being opened are: left open, they would count
// against the registry's limit of sessions until they expired. Call it
// when the pushes are done; the DELETEs go out at once, and are sent even
// when ctx is cancelled (within a few seconds each).
func (r *Repository) DiscardUploads(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for {
		s, ok := r.prepared.take(ctx)
		if !ok {
			break
		}
		if s.err == nil {
			wg.Go(func() { r.abandonUpload(ctx, s.loc) })
		}
	}
	wg.Wait()
}
