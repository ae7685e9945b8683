package resume

import "context"

// Conns bounds the connections a transfer has open at once, whatever
// blobs they serve (skiff's -j). Every blob being filled holds one, which
// its caller takes with Acquire; a blob fetched in ranges (Slot.Ranges)
// borrows more while they are free, one range at a time, and gives each
// back when its range is written, so that a blob waiting to start gets
// the next free connection before the ranges of one already running. A
// nil *Conns lends none: a ranged fetch then uses its own connection and
// up to DefaultRangeConns-1 more.
type Conns struct{ slots chan struct{} }

// DefaultRangeConns is the most connections a ranged fetch without a
// Conns opens.
const DefaultRangeConns = 4

// NewConns returns a bound of n connections; n < 1 means 1.
func NewConns(n int) *Conns { return &Conns{slots: make(chan struct{}, max(n, 1))} }

// Acquire waits for a free connection, or for ctx to end.
func (c *Conns) Acquire(ctx context.Context) error {
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Release gives back a connection Acquire took.
func (c *Conns) Release() { <-c.slots }

// borrow takes a free connection for one more range, if there is one.
// Waiting Acquires come first: Release hands its connection to one of
// them.
func (c *Conns) borrow() bool {
	select {
	case c.slots <- struct{}{}:
		return true
	default:
		return false
	}
}
