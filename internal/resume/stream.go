package resume

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// A Stream's ranges: smaller than a slot's, since its window is memory.
// At 25 MB/s a range of 2 MiB takes 84 ms, a round trip of 25 ms on top
// (77% of a connection's time).
const (
	streamChunk = 2 << 20
	pageSize    = 256 << 10
	streamSlack = 2 * pageSize // what one connection writes ahead of the reader
	// streamMaxConns is the most connections a Stream opens: with them its
	// window is 6.5 MiB. A copy of 128 MiB through a link that caps each
	// connection at 25 MB/s took as long with 4 as with 5 or 8 (issue 29).
	streamMaxConns = 4
)

// streamWindow is how far beyond what its reader took a Stream with n
// connections writes: a range for each connection but the one the reader
// takes as it arrives, which writes at most streamSlack ahead. One
// connection holds half a MiB, four 6.5 MiB.
func streamWindow(n int) int64 { return streamSlack + int64(max(n, 1)-1)*streamChunk }

// Stream returns desc's content from src for a reader that takes it in
// order, such as an upload to another registry, which takes one stream:
// ranges of 2 MiB are fetched, as Slot.Fill fetches them, into memory
// just beyond what the reader took, and read in order. It starts with one
// connection, and adds more, as Slot.Fill does, only while the reader
// waits for bytes: when the source is slower than the reader. Its memory
// is a range per connection but one (streamWindow): at most 6.5 MiB with
// streamMaxConns, half a MiB with one. open serves the rest when src
// serves no ranges. conns bounds the connections as for a Slot (nil: up
// to DefaultRangeConns);
// the reader's own counts as one of them only when the caller holds it.
// The bytes are not verified: the caller verifies them as it reads
// (manifest.VerifyReadCloser). Close stops the ranges.
func Stream(ctx context.Context, src RangeFetcher, desc manifest.Descriptor, open Open, conns *Conns) io.ReadCloser {
	ring := &pagedRing{pages: map[int64][]byte{}}
	s := &Slot{File: ring, Desc: desc, Ranges: src, RangeMin: 1, Conns: conns}
	r := s.newRanged(ctx, 0, nil, nil)
	r.chunk, r.inOrder = streamChunk, true
	sr := &streamReader{r: r, ring: ring, open: open, done: make(chan struct{})}
	go func() {
		defer close(sr.done)
		r.run()
		r.mu.Lock()
		r.over = true
		r.cond.Broadcast()
		r.mu.Unlock()
	}()
	return sr
}

// streamReader reads a Stream's ring in order, then, if the source
// turned out to serve no ranges, the rest from open.
type streamReader struct {
	r    *ranged
	ring *pagedRing
	open Open
	done chan struct{} // closed when the ranges are over
	pos  int64
	rest io.ReadCloser // the one stream after a fallback
}

func (sr *streamReader) Read(p []byte) (int, error) {
	if sr.rest != nil {
		n, err := sr.rest.Read(p)
		sr.pos += int64(n)
		return n, err
	}
	r := sr.r
	r.mu.Lock()
	if waits := func() bool { return sr.pos == r.hashed && sr.pos < r.s.Desc.Size && !r.over && r.err == nil }; waits() {
		r.adapt.wait(time.Now(), true)
		for waits() {
			r.cond.Wait()
		}
		r.adapt.wait(time.Now(), false)
	}
	avail, err, fallback := r.hashed-sr.pos, r.err, r.fallback
	r.mu.Unlock()
	switch {
	case avail > 0:
		n, err := sr.ring.ReadAt(p[:min(int64(len(p)), avail)], sr.pos)
		sr.pos += int64(n)
		sr.took()
		return n, err
	case err != nil:
		return 0, err
	case sr.pos == r.s.Desc.Size:
		return 0, io.EOF
	case !fallback:
		return 0, io.ErrUnexpectedEOF
	}
	<-sr.done // the ranges are over: the rest comes in one stream
	rc, err := sr.open(sr.pos)
	if err != nil {
		return 0, err
	}
	sr.rest = rc
	return sr.Read(p)
}

// took tells the ranges that the reader has the bytes before pos: the
// ring's pages before it are freed, and ranges may go further.
func (sr *streamReader) took() {
	r := sr.r
	r.mu.Lock()
	r.consumed = sr.pos
	r.cond.Broadcast()
	r.mu.Unlock()
	sr.ring.free(sr.pos)
}

// Close stops the ranges, waits for them, and frees the ring.
func (sr *streamReader) Close() error {
	sr.r.stop()
	<-sr.done
	sr.ring.freeAll()
	if sr.rest != nil {
		return sr.rest.Close()
	}
	return nil
}

// pagedRing holds a Stream's bytes between what ranges wrote and what
// its reader took, in pages allocated as they are written and freed as
// they are read.
type pagedRing struct {
	mu    sync.Mutex
	pages map[int64][]byte // by page number
	low   int64            // the first page not freed
}

var pagePool = sync.Pool{New: func() any { b := make([]byte, pageSize); return &b }}

func (g *pagedRing) WriteAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		k, at := (off+int64(n))/pageSize, (off+int64(n))%pageSize
		g.mu.Lock()
		page, ok := g.pages[k]
		if !ok {
			page = *pagePool.Get().(*[]byte)
			g.pages[k] = page
		}
		g.mu.Unlock()
		n += copy(page[at:], p[n:])
	}
	return n, nil
}

func (g *pagedRing) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		k, at := (off+int64(n))/pageSize, (off+int64(n))%pageSize
		g.mu.Lock()
		page, ok := g.pages[k]
		g.mu.Unlock()
		if !ok {
			return n, fmt.Errorf("resume: byte %d of a stream is not in its ring", off+int64(n))
		}
		n += copy(p[n:], page[at:])
	}
	return n, nil
}

// free gives back the pages wholly before off.
func (g *pagedRing) free(off int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for ; g.low < off/pageSize; g.low++ {
		if page, ok := g.pages[g.low]; ok {
			delete(g.pages, g.low)
			pagePool.Put(&page)
		}
	}
}

// freeAll gives back every page.
func (g *pagedRing) freeAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, page := range g.pages {
		delete(g.pages, k)
		pagePool.Put(&page)
	}
}
