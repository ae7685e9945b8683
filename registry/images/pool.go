package images

import (
	"context"
	"reflect"
	"sync"

	"github.com/skiffoci/skiff/manifest"
)

// Pool bounds the blob transfers of several copies running at once, as
// a mirror of many images runs them: at most n blobs are checked,
// mounted or moved at a time across all the copies that share it, and a
// blob two copies need at once is handled by one while the other waits,
// then finds it in the destination (or mounts it) instead of moving it
// a second time. A Pool is safe for concurrent use.
type Pool struct {
	slots chan struct{}
	mu    sync.Mutex
	busy  map[manifest.Digest]chan struct{} // closed when the blob's holder is done
	done  map[doneKey]bool                  // blobs a copy stored in a destination
}

// doneKey is a blob stored in one destination.
type doneKey struct {
	dst manifest.Store
	d   manifest.Digest
}

// NewPool returns a Pool of n slots; n < 1 means 4.
func NewPool(n int) *Pool {
	if n < 1 {
		n = 4
	}
	return &Pool{slots: make(chan struct{}, n), busy: map[manifest.Digest]chan struct{}{}, done: map[doneKey]bool{}}
}

// Size returns the number of slots.
func (p *Pool) Size() int { return cap(p.slots) }

// acquire waits until no other copy is handling d and a slot is free,
// then holds both until the returned function is called.
func (p *Pool) acquire(ctx context.Context, d manifest.Digest) (release func(), err error) {
	done, err := p.claim(ctx, d)
	if err != nil {
		return nil, err
	}
	unclaim := func() {
		p.mu.Lock()
		delete(p.busy, d)
		p.mu.Unlock()
		close(done)
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		unclaim()
		return nil, context.Cause(ctx)
	}
	return func() { <-p.slots; unclaim() }, nil
}

// claim waits until no other copy holds d, and takes it.
func (p *Pool) claim(ctx context.Context, d manifest.Digest) (chan struct{}, error) {
	for {
		p.mu.Lock()
		wait, held := p.busy[d]
		if !held {
			done := make(chan struct{})
			p.busy[d] = done
			p.mu.Unlock()
			return done, nil
		}
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// stored reports whether a copy through p already stored d in dst: the
// copies after it skip d without a request. (Mounting it again is not
// harmless: distribution rewrites the link of a blob it mounts, and a
// manifest pushed meanwhile can find the link empty.)
func (p *Pool) stored(dst manifest.Store, d manifest.Digest) bool {
	if !comparable(dst) {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done[doneKey{dst, d}]
}

// markStored records that d is in dst.
func (p *Pool) markStored(dst manifest.Store, d manifest.Digest) {
	if !comparable(dst) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[doneKey{dst, d}] = true
}

// comparable reports whether dst can be a map key (stores are pointers,
// as a rule).
func comparable(dst manifest.Store) bool {
	return reflect.TypeOf(dst).Comparable()
}
