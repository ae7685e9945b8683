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

// Stream returns desc's content for a reader that takes it in order,
// such as an upload to another registry, which takes one stream. It reads
// head, the content from byte 0 in one stream, and times it: while the
// reader gets its bytes as fast as it takes them, or they come faster
// than one connection is ever held back (streamFastRate), the head is all
// there is, with no copy and no memory beyond it. Once the reader has
// waited for the head at least half of each half of an epoch (headWatch),
// the source is the slower and one connection's rate the limit: the rest,
// from a range beyond the head's bytes, comes from src as ranges of 2
// MiB, fetched as Slot.Fill fetches them into memory just beyond what the
// reader took, and read in order. The head goes on to where the first
// range starts, and is closed there once that range came back as asked;
// if it did not (the source serves no ranges), the head goes on to the
// end, and nothing is fetched twice. The ranges start with streamMaxConns
// connections at once (the head measured one already; the blob is read
// once, and a ramp would cost much of it); if they carry less than 1.75
// times what the head did (the link, not each connection, is the limit),
// they give way to one stream again, from open, which also serves the
// rest when src stops serving ranges. Their memory is a range per
// connection but one (streamWindow): at most 6.5 MiB. conns bounds the
// connections as for a Slot (nil: up to DefaultRangeConns); the head,
// then the first range, count as one of them only when the caller holds
// it (until the head is closed, the blob has both). The bytes are not
// verified: the caller verifies them as it reads
// (manifest.VerifyReadCloser). Close stops the ranges and closes head.
func Stream(ctx context.Context, src RangeFetcher, desc manifest.Descriptor, head io.ReadCloser, open Open, conns *Conns) io.ReadCloser {
	return &streamReader{ctx: ctx, src: src, desc: desc, head: head, open: open, conns: conns}
}

// streamReader reads a Stream's head, then, if it switched, its ring in
// order, then, if the ranges gave up, the rest from open.
type streamReader struct {
	ctx   context.Context
	src   RangeFetcher
	desc  manifest.Descriptor
	open  Open
	conns *Conns
	pos   int64
	head  io.ReadCloser // the one stream it starts with; nil once closed
	watch headWatch
	kept  bool          // the head goes on to the end: src served no range
	cut   int64         // where the ranges start, once they do
	r     *ranged       // the ranges, once the head was too slow
	ring  *pagedRing    // where they write
	done  chan struct{} // closed when the ranges are over
	rest  io.ReadCloser // the one stream after the ranges
}

func (sr *streamReader) Read(p []byte) (int, error) {
	switch {
	case sr.head != nil && (sr.r == nil || sr.pos < sr.cut || !sr.handOver()):
		return sr.readHead(p)
	case sr.rest != nil:
		n, err := sr.rest.Read(p)
		sr.pos += int64(n)
		return n, err
	case sr.r == nil:
		return 0, fmt.Errorf("resume: %s: read after Close", sr.desc.Digest)
	}
	r := sr.r
	r.mu.Lock()
	for sr.pos == r.hashed && sr.pos < r.s.Desc.Size && !r.over && r.err == nil {
		r.cond.Wait()
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

// readHead reads the head: up to the cut once ranges started, else timing
// the wait, to start them when the head turns out to be the slower side.
func (sr *streamReader) readHead(p []byte) (int, error) {
	if sr.r != nil {
		n, err := sr.head.Read(p[:min(int64(len(p)), sr.cut-sr.pos)])
		sr.pos += int64(n)
		sr.took()
		return n, err
	}
	start := time.Now()
	n, err := sr.head.Read(p)
	sr.pos += int64(n)
	if err != nil || sr.kept {
		return n, err
	}
	slow, rate := sr.watch.read(start, time.Now(), n)
	if cut := sr.pos + streamChunk; slow && sr.desc.Size-cut >= streamMinRest {
		sr.startRanges(cut, rate)
	}
	return n, nil
}

// startRanges fetches the bytes from cut on in ranges, starting with
// streamMaxConns connections, which must beat rate, the head's, to go on.
func (sr *streamReader) startRanges(cut int64, rate float64) {
	sr.cut = cut
	sr.ring = &pagedRing{pages: map[int64][]byte{}, low: cut / pageSize}
	s := &Slot{File: sr.ring, Desc: sr.desc, Ranges: sr.src, RangeMin: 1, Conns: sr.conns}
	r := s.newRanged(sr.ctx, cut, nil, nil)
	r.chunk, r.inOrder, r.consumed, r.want = streamChunk, true, sr.pos, streamMaxConns
	r.adapt.prevRate = rate
	sr.r, sr.done = r, make(chan struct{})
	go func() {
		defer close(sr.done)
		r.run()
		r.mu.Lock()
		r.over = true
		r.cond.Broadcast()
		r.mu.Unlock()
	}()
}

// handOver is the reader at the cut. Once the first range came back as
// asked, the head is closed (the bytes on their way are lost: the reader
// waited for them, so few) and the ranges go on: it reports true. If it
// did not (the source serves no ranges, or the range failed), the ranges
// stop and the head goes on to the end: false.
func (sr *streamReader) handOver() bool {
	r := sr.r
	r.mu.Lock()
	for !r.adapt.probed && !r.done && !r.over {
		r.cond.Wait()
	}
	probed := r.adapt.probed
	r.mu.Unlock()
	if !probed {
		sr.stopRanges()
		sr.kept = true
		return false
	}
	sr.head.Close()
	sr.head = nil
	return true
}

// stopRanges stops the ranges, waits for them, and frees the ring.
func (sr *streamReader) stopRanges() {
	sr.r.stop()
	<-sr.done
	sr.ring.freeAll()
	sr.r = nil
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

// Close closes the head, stops the ranges, and closes the stream after
// them.
func (sr *streamReader) Close() error {
	var err error
	if sr.head != nil {
		err = sr.head.Close()
		sr.head = nil
	}
	if sr.r != nil {
		sr.stopRanges()
	}
	if sr.rest != nil {
		err = sr.rest.Close()
	}
	return err
}

// When a Stream's head gives way to ranges.
const (
	// streamFastRate, in bytes per second, is a rate at which one
	// connection is not what holds a copy back: twice the 50 MB/s one TCP
	// connection carries across an ocean (issue 29). Ranges are for
	// connections held back by their window or a CDN's cap; on a faster
	// one, such as loopback, their requests cost the source and the copy
	// CPU for nothing.
	streamFastRate = 100e6
	// streamMinRest is the least of a blob left beyond the cut for a
	// switch to ranges: two, one per connection.
	streamMinRest = 2 * streamChunk
)

// headWatch measures a Stream's head in halves of minEpoch: how long its
// reader waited in Read, and how many bytes came. A head is slow when the
// reader waited for it at least half of two halves running, for bytes that
// came at less than streamFastRate: two, so that one stall of the source
// (a pause, a page cache miss) as long as a half does not count, while a
// source slower than its reader is told in an epoch.
type headWatch struct {
	since  time.Time // the half's start; zero before the first Read
	waited time.Duration
	bytes  int64
	before float64 // the rate of the half before, if it was slow; 0 if not
}

// read notes a Read of the head that began at start and returned n bytes
// at end. At the end of a half it reports whether the head is slow, and
// then the rate of its bytes over the two halves.
func (w *headWatch) read(start, end time.Time, n int) (slow bool, rate float64) {
	if w.since.IsZero() {
		w.since = start
	}
	w.waited += end.Sub(start)
	w.bytes += int64(n)
	elapsed := end.Sub(w.since)
	if elapsed < minEpoch/2 {
		return false, 0
	}
	rate = float64(w.bytes) / elapsed.Seconds()
	half := 2*w.waited >= elapsed && rate < streamFastRate
	before := w.before
	*w = headWatch{since: end}
	if !half {
		return false, 0
	}
	if before == 0 {
		w.before = rate
		return false, 0
	}
	return true, (before + rate) / 2
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
