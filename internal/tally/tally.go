// Package tally adds the totals of a whole transfer to the events of its
// blobs (manifest.Event.Transfer), so that no caller of a copy or a
// tarball write adds them up by hand. It takes no lock: events arrive on
// every Read of every transfer.
package tally

import (
	"sync/atomic"

	"github.com/skiffoci/skiff/manifest"
)

// Counter counts a transfer's blobs and bytes as its events pass. A nil
// *Counter passes nothing on.
type Counter struct {
	fn        func(manifest.Event)
	blobs     map[manifest.Digest]*blob // read-only once made
	total     manifest.Totals           // Blobs and Bytes
	blobsDone atomic.Int64
	bytesDone atomic.Int64
}

// blob is one blob's part of the totals.
type blob struct {
	size int64
	n    atomic.Int64 // bytes counted done
	done atomic.Bool
}

// New returns a Counter of the transfer of blobs (each digest counted
// once; manifests and indexes left out) that passes events on to fn, or
// nil when fn is nil.
func New(blobs []manifest.Descriptor, fn func(manifest.Event)) *Counter {
	if fn == nil {
		return nil
	}
	c := &Counter{fn: fn, blobs: make(map[manifest.Digest]*blob, len(blobs))}
	for _, d := range blobs {
		if c.blobs[d.Digest] != nil || manifest.IsManifest(d.MediaType) || manifest.IsIndex(d.MediaType) {
			continue
		}
		size := max(d.Size, 0)
		c.blobs[d.Digest] = &blob{size: size}
		c.total.Blobs++
		c.total.Bytes += size
	}
	return c
}

// Func returns c's Event as a function, or nil for a nil c: what a
// Progress option takes.
func (c *Counter) Func() func(manifest.Event) {
	if c == nil {
		return nil
	}
	return c.Event
}

// Event counts e and passes it on with the totals as of it.
func (c *Counter) Event(e manifest.Event) {
	if c == nil {
		return
	}
	if b := c.blobs[e.Desc.Digest]; b != nil {
		switch e.State {
		case manifest.StateStart, manifest.StateProgress:
			c.advance(b, e.Bytes)
		default: // done, found, mounted or skipped: all of it
			c.advance(b, b.size)
			if b.done.CompareAndSwap(false, true) {
				c.blobsDone.Add(1)
			}
		}
	}
	e.Transfer = c.Totals()
	c.fn(e)
}

// Finish reports d done, as found in the destination, unless an event
// said so already: a blob that needed no transfer at all.
func (c *Counter) Finish(d manifest.Descriptor) {
	if c == nil {
		return
	}
	if b := c.blobs[d.Digest]; b != nil && !b.done.Load() {
		c.Event(manifest.Event{Desc: d, State: manifest.StateExists, Bytes: b.size})
	}
}

// Totals returns the totals so far.
func (c *Counter) Totals() manifest.Totals {
	t := c.total
	t.BlobsDone, t.BytesDone = int(c.blobsDone.Load()), c.bytesDone.Load()
	return t
}

// advance raises b's bytes done to n; they never go back.
func (c *Counter) advance(b *blob, n int64) {
	n = min(n, b.size)
	for {
		old := b.n.Load()
		if n <= old {
			return
		}
		if b.n.CompareAndSwap(old, n) {
			c.bytesDone.Add(n - old)
			return
		}
	}
}
