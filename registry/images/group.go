package images

import (
	"context"
	"sync"
)

// group runs functions on at most n goroutines at once, each started only
// once it holds its slot; the first error cancels the context the others
// run with, and no function starts after it.
type group struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	slots   chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error // the first error of a function
	refused bool  // Go refused a function: the context had ended
}

// newGroup returns a group of n slots (n < 1 means 1) under ctx.
func newGroup(ctx context.Context, n int) *group {
	ctx, cancel := context.WithCancelCause(ctx)
	return &group{ctx: ctx, cancel: cancel, slots: make(chan struct{}, max(n, 1))}
}

// Go waits for a free slot, then runs f on a goroutine of its own with
// the group's context. It reports false, starting nothing, once that
// context has ended: the caller stops handing out work.
func (g *group) Go(f func(ctx context.Context) error) bool {
	if g.ctx.Err() != nil {
		return g.refuse()
	}
	select {
	case g.slots <- struct{}{}:
	case <-g.ctx.Done():
		return g.refuse()
	}
	if g.ctx.Err() != nil { // a failure freed the slot: the select may pick either
		<-g.slots
		return g.refuse()
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() { <-g.slots }()
		if err := f(g.ctx); err != nil {
			g.fail(err)
		}
	}()
	return true
}

func (g *group) refuse() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refused = true
	return false
}

// fail records err if it is the first, and cancels the others.
func (g *group) fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		g.err = err
		g.cancel(err)
	}
}

// Wait waits for every function started and returns the first error, or,
// when none failed but the parent context ended before every function
// started, its cause.
func (g *group) Wait() error {
	g.wg.Wait()
	defer g.cancel(nil)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil && g.refused {
		return context.Cause(g.ctx)
	}
	return g.err
}
