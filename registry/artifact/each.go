package artifact

import (
	"context"
	"sync"
)

// each runs f for 0..n-1, at most jobs at a time (0 means 4), each
// goroutine started only once it holds its slot; the first error cancels
// the rest and is returned.
func each(ctx context.Context, n, jobs int, f func(ctx context.Context, i int) error) error {
	if jobs <= 0 {
		jobs = 4
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	slots := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := range n {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := f(ctx, i); err != nil {
				once.Do(func() { first = err; cancel(err) })
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = context.Cause(ctx)
	}
	return first
}
