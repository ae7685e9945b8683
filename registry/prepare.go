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

// ahead is an upload session being opened on another goroutine while the
// push that will use it still waits for its source: the POST and the
// source's first bytes then cost one round trip, not two.
type ahead struct {
	done chan struct{}
	s    session
	used bool
}

// openAhead starts opening a session for one push to r, taking one that
// PrepareUploads opened when there is one.
func (r *Repository) openAhead(ctx context.Context) *ahead {
	a := &ahead{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.s.loc, a.s.minLen, a.s.err = r.startUpload(ctx, "")
	}()
	return a
}

// take waits for the session and hands it to the push, which then owns
// it (and abandons it if it fails).
func (a *ahead) take() (session, error) {
	<-a.done
	a.used = true
	return a.s, a.s.err
}

// releaseAhead abandons a's session if no push took it, once it is
// open: left open, it would count against the registry's limit.
func (r *Repository) releaseAhead(ctx context.Context, a *ahead) {
	if a == nil || a.used {
		return
	}
	a.used = true
	<-a.done
	if a.s.err == nil {
		r.abandonUpload(ctx, a.s.loc)
	}
}
