package resume

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// RangeFetcher is a source that serves bounded byte ranges of a blob, as
// registry.Repository does.
type RangeFetcher interface {
	// FetchRange returns bytes [start, end) of desc's content, not
	// verified. An error that matches errors.ErrUnsupported says the
	// source serves no ranges (it answered 200, or for other bytes):
	// Fill goes on with one stream from Slot's open. Asked for a range
	// from byte 0, such a source may return the whole content instead,
	// rather than send it twice: the reader then has a method Whole that
	// reports true, and Fill reads all of it.
	FetchRange(ctx context.Context, desc manifest.Descriptor, start, end int64) (io.ReadCloser, error)
}

// whole reports whether rc, from a RangeFetcher, yields the whole content.
func whole(rc io.Reader) bool {
	w, ok := rc.(interface{ Whole() bool })
	return ok && w.Whole()
}

// How a blob is fetched in ranges; see fillRanges.
const (
	// DefaultRangeMin is the least size of a blob fetched in ranges. Below
	// it, the few connections a blob would gain do not pay for their
	// requests (issue 29's measurements are in internal/bench/RESULTS.md).
	DefaultRangeMin = 32 << 20
	// RangeSize is the size of one range: at 25 MB/s a range takes about a
	// third of a second, so that a request's round trip (25-150 ms) costs
	// little of a connection's time, and the last ranges of a blob do not
	// keep one connection busy long after the others are done.
	RangeSize = 8 << 20
	// rangeWindow is how far beyond the hashed prefix ranges may be
	// fetched: it bounds what a killed run loses of its ranges (their
	// spans are checkpointed, MaxSpans of them) and how far the prefix's
	// hash must catch up reading the file.
	rangeWindow = 12 * RangeSize
	// startConns is how many connections a ranged fetch starts with, once
	// its first range came back as asked; maxConns the most it opens.
	startConns = 2
	maxConns   = 8
	// minEpoch is the least time the connections run at one number before
	// their throughput is compared with the number before.
	minEpoch = 200 * time.Millisecond
)

// rangeBufSize is the size of a range's buffer: what it reads before each
// write, and hashes at once. Smaller than a stream's (bufSize): a ranged
// fetch has several connections, each with its own.
var rangeBufSize = 256 << 10

var rangeBufPool = sync.Pool{New: func() any { b := make([]byte, rangeBufSize); return &b }}

// crcTable is the CRC-32C table of spans' checksums.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ranged is one blob being fetched in ranges into its slot. Its bytes are
// written where they belong as they arrive; the prefix of bytes written
// without a gap is hashed in order as it grows, by whichever goroutine
// can: the one writing at the prefix's end hashes its own buffer (no
// second read), and the bytes ranges wrote further on are read back from
// the file once the prefix reaches them.
type ranged struct {
	s     *Slot
	ctx   context.Context
	stop  context.CancelFunc
	conns *Conns // where extra connections are borrowed from

	hmu sync.Mutex         // held while d is written or saved; guards d and savedAt
	d   *manifest.Digester // nil for a Stream: its reader verifies

	chunk, window int64 // the size of a range, and how far beyond floor ranges start
	inOrder       bool  // a Stream: see streamWindow

	mu       sync.Mutex
	cond     *sync.Cond // broadcast when hashed moves or the fetch ends
	hashed   int64      // bytes of the prefix in d (a Stream's: bytes without a gap)
	consumed int64      // a Stream's bytes read
	spans    []*span    // written or being written beyond hashed, by start
	running  int        // connections at work
	want     int        // connections the throughput allows
	done     bool       // no more ranges: finished, failed or unsupported
	err      error      // why the fetch failed
	fallback bool       // the source serves no ranges
	over     bool       // a Stream's run ended
	base     int64      // bytes on disk at the start (the prefix, kept spans)
	written  int64      // bytes written since
	savedAt  int64      // written at the last checkpoint
	fetched  int64      // bytes that came through ranges
	adapt    adaptation
	wake     chan struct{} // a connection ended, or more may start
	starts   int           // connections started, for tests
}

// span is a run of bytes [start, end) one range fills; done of them are
// written, with CRC-32C crc.
type span struct {
	start, end, done int64
	crc              uint32
	busy             bool
	reached          bool // the prefix reached it: crc is no longer kept
}

// fillRanges is Fill for a blob of at least RangeMin bytes from a
// RangeFetcher: it fetches the bytes after the verified prefix as ranges
// of RangeSize, starting one and, once it came back as asked, a few more
// at once, adding connections while the throughput grows (see
// adaptation). Spans written beyond the prefix are checkpointed with
// their CRC, so that the next run keeps every one that is intact. A
// source that serves no ranges is read in one stream from open, from the
// end of the prefix. The proof is that of a Verifier given the hash of
// the whole blob, as for a blob found whole on disk.
func (s *Slot) fillRanges(ctx context.Context, open Open) (int64, manifest.Verified, error) {
	offset, prefix, spans, err := s.resumed()
	if err != nil {
		return 0, manifest.Verified{}, err
	}
	if offset == s.Desc.Size && prefix != nil {
		proof, err := verify(s.Desc, prefix)
		return 0, proof, err
	}
	if prefix == nil {
		prefix = manifest.NewDigester(s.Desc.Digest.Algorithm())
	}
	r := s.newRanged(ctx, offset, prefix, spans)
	r.run()
	if r.err != nil {
		return r.fetched, manifest.Verified{}, r.err
	}
	if r.fallback && r.hashed < s.Desc.Size {
		n, proof, err := s.stream(ctx, open, r.hashed, r.d)
		return r.fetched + n, proof, err
	}
	proof, err := s.verdict(r.d)
	return r.fetched, proof, err
}

// verify returns the proof a Verifier gives for desc when d holds the
// hash of all its bytes, which are on disk: none is left to read.
func verify(desc manifest.Descriptor, d *manifest.Digester) (manifest.Verified, error) {
	v := manifest.NewResumedVerifier(strings.NewReader(""), desc, d, desc.Size)
	io.Copy(io.Discard, v)
	return v.Verified()
}

// verdict is the proof of a blob whose every byte was hashed into d; when
// they do not verify, the checkpoint is forgotten: the next run fetches
// the blob again.
func (s *Slot) verdict(d *manifest.Digester) (manifest.Verified, error) {
	proof, err := verify(s.Desc, d)
	if err != nil {
		return proof, errors.Join(fmt.Errorf("resume: %s, fetched in ranges: %w", s.Desc.Digest, err), s.State.Clear(s.Index))
	}
	return proof, nil
}

func (s *Slot) newRanged(ctx context.Context, offset int64, d *manifest.Digester, spans []*span) *ranged {
	ctx, stop := context.WithCancel(ctx)
	r := &ranged{s: s, ctx: ctx, stop: stop, conns: s.Conns, d: d, hashed: offset, spans: spans,
		chunk: RangeSize, window: rangeWindow, want: 1, wake: make(chan struct{}, 1)}
	if r.conns == nil {
		r.conns = NewConns(DefaultRangeConns - 1)
	}
	r.cond = sync.NewCond(&r.mu)
	r.base = offset
	for _, sp := range spans {
		r.base += sp.done
	}
	return r
}

// run fetches until every byte is hashed, or the fetch stops, and saves
// where it got.
func (r *ranged) run() {
	defer r.stop()
	stopWatch := context.AfterFunc(r.ctx, func() { r.fail(context.Cause(r.ctx)) })
	defer stopWatch()
	r.start(false)
	tick := time.NewTicker(minEpoch / 4)
	defer tick.Stop()
	for {
		select {
		case <-r.wake:
		case <-tick.C:
		}
		r.mu.Lock()
		idle := r.running == 0
		add := 0
		if !idle {
			add = r.step(time.Now())
		}
		r.mu.Unlock()
		if idle {
			break
		}
		for ; add > 0 && r.conns.borrow(); add-- {
			r.start(true)
		}
	}
	r.finish()
}

// start starts a connection; an extra one holds a borrowed connection.
func (r *ranged) start(extra bool) {
	r.mu.Lock()
	r.running++
	r.starts++
	r.adapt.pending++
	r.restartEpoch(time.Now())
	r.mu.Unlock()
	go r.work(extra)
}

// finish hashes what the ranges left at the prefix and, unless the blob
// is whole, saves a checkpoint of where the fetch got.
func (r *ranged) finish() {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	if r.behind() { // a buffer only when there is something to read back
		buf := rangeBufPool.Get().(*[]byte)
		r.catchUp(*buf)
		rangeBufPool.Put(buf)
	}
	r.mu.Lock()
	whole := r.hashed == r.s.Desc.Size
	r.mu.Unlock()
	if whole {
		return
	}
	if err := r.save(); err != nil && r.err == nil {
		r.err = err
	}
}

// work is one connection: it takes ranges and fills them until none is
// left for it. The blob's own connection (not extra) reads into a
// stream's buffer, of which it uses rangeBufSize: when the rest of the
// blob then comes in one stream (a fast connection, a source without
// ranges), the stream takes that buffer back from the pool instead of
// adding its own to the peak (four 1 GiB layers at once: 16.3 MiB of RSS
// against 15.5 in one stream, before).
func (r *ranged) work(extra bool) {
	pool := &rangeBufPool
	if !extra && !r.inOrder { // a Stream's rest needs no buffer here
		pool = &bufPool
	}
	held := pool.Get().(*[]byte)
	buf := (*held)[:min(rangeBufSize, len(*held))]
	defer func() {
		pool.Put(held)
		if extra {
			r.conns.Release()
		}
		r.mu.Lock()
		r.running--
		r.restartEpoch(time.Now())
		r.mu.Unlock()
		r.poke()
	}()
	first := true
	for {
		sp := r.take(extra)
		if sp == nil {
			return
		}
		err := r.fill(sp, buf, first)
		first = false
		r.mu.Lock()
		sp.busy = false
		r.mu.Unlock()
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			r.unsupported()
			return
		case err != nil:
			r.fail(err)
			return
		}
		if extra { // give the connection back: a blob waiting to start comes first
			r.conns.Release()
			if extra = r.conns.borrow(); !extra {
				return
			}
		}
	}
}

// poke wakes run.
func (r *ranged) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// take returns the next range to fill, waiting while the window beyond
// the prefix is full; nil when there is none for this connection.
func (r *ranged) take(extra bool) *span {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if r.done || extra && r.running > r.want {
			return nil
		}
		gap, end := r.gap()
		if gap >= r.s.Desc.Size {
			return nil // every byte is written or being written
		}
		if gap < r.floor()+r.ahead() {
			sp := &span{start: gap, end: min(gap+r.chunk, end), busy: true}
			i, _ := slices.BinarySearchFunc(r.spans, gap, func(s *span, at int64) int { return int(s.start - at) })
			r.spans = slices.Insert(r.spans, i, sp)
			return sp
		}
		r.cond.Wait()
	}
}

// floor is where the window of ranges starts: the end of the hashed
// prefix, or of what a Stream's reader took.
func (r *ranged) floor() int64 {
	if r.inOrder {
		return r.consumed
	}
	return r.hashed
}

// ahead is how far beyond floor a range may start; r.mu is held. A
// Stream's window holds a range per connection it wants: its memory grows
// with the connections (see streamWindow). A range may start anywhere in
// it, so that one connection asks for its next range while the reader
// takes the last streamSlack bytes of the one before: room holds back
// what has no room yet.
func (r *ranged) ahead() int64 {
	if r.inOrder {
		return streamWindow(r.want)
	}
	return r.window
}

// room waits until bytes up to end may be written: always, but for a
// Stream, whose ring holds streamWindow bytes from what its reader took.
func (r *ranged) room(end int64) error {
	if !r.inOrder {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for end > r.consumed+streamWindow(r.want) && r.err == nil && !r.fallback {
		r.cond.Wait()
	}
	switch {
	case r.err != nil:
		return r.err
	case end > r.consumed+streamWindow(r.want):
		return errFallback // the reader goes on from the bytes without a gap
	}
	return nil // a range with room goes on after a fallback: its bytes are on their way
}

// errFallback stops a Stream's range that has no room once the fetch
// fell back to one stream.
var errFallback = fmt.Errorf("resume: %w: the rest comes in one stream", errors.ErrUnsupported)

// gap returns the first byte after the prefix that no span covers, and
// where the span after it starts (or the blob ends).
func (r *ranged) gap() (int64, int64) {
	at := r.hashed
	for _, sp := range r.spans {
		if sp.start > at {
			return at, sp.start
		}
		at = max(at, sp.end)
	}
	return at, r.s.Desc.Size
}

// fill fetches a span's bytes and writes them into the slot; first says
// it is the connection's first range.
func (r *ranged) fill(sp *span, buf []byte, first bool) error {
	at := sp.start + sp.done
	asked := time.Now()
	rc, err := r.s.Ranges.FetchRange(r.ctx, r.s.Desc, at, sp.end)
	if err != nil {
		return err
	}
	defer rc.Close()
	if whole(rc) {
		r.stream(sp)
	}
	r.answered(time.Since(asked), first)
	from, began, measure := at, time.Now(), first // a connection's first range measures it (measuredOne)
	for at < sp.end {
		n, rerr := fillBuf(rc, buf[:min(int64(len(buf)), sp.end-at)])
		if n > 0 {
			if err := r.room(at + int64(n)); err != nil {
				return err
			}
			if _, err := r.s.File.WriteAt(buf[:n], r.s.Offset+at); err != nil {
				return fmt.Errorf("resume: writing %s: %w", r.s.Desc.Digest, err)
			}
			r.wrote(sp, buf, n, at)
			at += int64(n)
			if measure && (time.Since(began) >= measureTime || at == sp.end) {
				r.measuredOne(float64(at-from) / time.Since(began).Seconds())
				measure = false
			}
		}
		switch {
		case rerr == io.EOF && at < sp.end:
			return fmt.Errorf("resume: %s: the range ending at %d stopped at %d: %w", r.s.Desc.Digest, sp.end, at, io.ErrUnexpectedEOF)
		case rerr != nil && rerr != io.EOF:
			return rerr
		}
	}
	return nil
}

// wrote records the n bytes of buf just written at byte at of span sp,
// and hashes them when they continue the prefix. A span's CRC is kept
// only while it lies beyond the prefix: once the prefix reaches it, it is
// hashed as it arrives and never checkpointed as a span.
func (r *ranged) wrote(sp *span, buf []byte, n int, at int64) {
	r.mu.Lock()
	sp.reached = sp.reached || sp.start <= r.hashed
	reached := sp.reached
	r.mu.Unlock()
	crc := sp.crc // only this connection writes sp's bytes and CRC
	if !reached {
		crc = crc32.Update(crc, crcTable, buf[:n])
	}
	r.mu.Lock()
	sp.done += int64(n)
	sp.crc = crc
	r.written += int64(n)
	r.fetched += int64(n)
	onDisk := r.base + r.written
	r.mu.Unlock()
	if r.s.Progress != nil {
		r.s.Progress(onDisk)
	}
	r.advance(buf, n, at)
}

// advance hashes what it can at the end of the prefix: the n bytes of buf
// written at byte at, when the prefix ends there, then what ranges wrote
// beyond, read back from the file into buf. Only one goroutine hashes at a
// time; one that finds another at it leaves the bytes to it, and the one
// hashing looks again after it lets go, so no written byte is left
// waiting.
func (r *ranged) advance(buf []byte, n int, at int64) {
	for r.hmu.TryLock() {
		r.mu.Lock()
		inline := r.d != nil && n > 0 && at == r.hashed
		r.mu.Unlock()
		if inline {
			r.d.Write(buf[:n])
			r.moved(int64(n))
		}
		n = 0
		r.catchUp(buf)
		err := r.saveIfDue()
		r.hmu.Unlock()
		if err != nil {
			r.fail(err)
			return
		}
		if !r.behind() {
			return
		}
	}
}

// behind reports whether bytes written at the end of the prefix wait to
// be hashed.
func (r *ranged) behind() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readable() > 0
}

// readable is how many bytes written at the end of the prefix are not
// hashed yet.
func (r *ranged) readable() int64 {
	for _, sp := range r.spans {
		if sp.start <= r.hashed && r.hashed < sp.start+sp.done {
			return sp.start + sp.done - r.hashed
		}
	}
	return 0
}

// catchUp hashes, reading them from the file into buf, the bytes ranges
// wrote at the end of the prefix; r.hmu is held.
func (r *ranged) catchUp(buf []byte) {
	for {
		r.mu.Lock()
		n, at := min(r.readable(), int64(len(buf))), r.hashed
		r.mu.Unlock()
		if n == 0 {
			return
		}
		if r.d == nil { // a Stream's reader reads them, and verifies
			r.moved(n)
			continue
		}
		if _, err := r.s.File.ReadAt(buf[:n], r.s.Offset+at); err != nil {
			r.fail(fmt.Errorf("resume: rereading %s: %w", r.s.Desc.Digest, err))
			return
		}
		r.d.Write(buf[:n])
		r.moved(n)
	}
}

// moved advances the prefix by n hashed bytes, forgets the spans it
// passed, and wakes connections waiting for the window to move.
func (r *ranged) moved(n int64) {
	r.mu.Lock()
	r.hashed += n
	r.spans = slices.DeleteFunc(r.spans, func(sp *span) bool { return sp.end <= r.hashed && !sp.busy })
	if r.hashed == r.s.Desc.Size {
		r.done = true
	}
	r.cond.Broadcast()
	r.mu.Unlock()
}

// saveIfDue saves a checkpoint once Interval bytes were written since the
// last; r.hmu is held.
func (r *ranged) saveIfDue() error {
	r.mu.Lock()
	due := r.written-r.savedAt >= Interval && r.hashed < r.s.Desc.Size
	r.mu.Unlock()
	if !due {
		return nil
	}
	return r.save()
}

// save writes the checkpoint: the hashed prefix and the spans written
// beyond it; r.hmu is held.
func (r *ranged) save() error {
	if r.s.State == nil {
		return nil // a Stream keeps nothing
	}
	state, err := r.d.MarshalBinary()
	if err != nil {
		return fmt.Errorf("resume: %s: %w", r.s.Desc.Digest, err)
	}
	r.mu.Lock()
	c := Checkpoint{N: r.hashed, State: state}
	for _, sp := range r.spans {
		if sp.start >= r.hashed && sp.done > 0 && !sp.reached {
			c.Spans = append(c.Spans, Span{Start: sp.start, Len: sp.done, CRC: sp.crc})
		}
	}
	r.savedAt = r.written
	r.mu.Unlock()
	return r.s.State.Save(r.s.Index, c)
}

// fail stops the fetch with err, the first failure.
func (r *ranged) fail(err error) {
	r.mu.Lock()
	if r.err == nil && !(r.done && r.hashed == r.s.Desc.Size) {
		r.err = err
	}
	r.done = true
	r.cond.Broadcast()
	r.mu.Unlock()
	r.stop()
}

// stream makes sp, a range from byte 0 that came back as the whole blob,
// the one stream that fills the rest of the blob.
func (r *ranged) stream(sp *span) {
	r.mu.Lock()
	sp.end = r.s.Desc.Size
	r.spans = []*span{sp} // kept ones are written again as the stream passes
	r.done = true         // no more ranges
	r.cond.Broadcast()
	r.mu.Unlock()
}

// unsupported stops taking ranges: the source serves none. Ranges under
// way finish; the rest comes in one stream.
func (r *ranged) unsupported() {
	r.mu.Lock()
	r.oneStream()
	r.mu.Unlock()
}

// oneStream stops taking ranges: ranges under way finish, or stop where
// they have no room; the rest comes in one stream. r.mu is held.
func (r *ranged) oneStream() {
	r.fallback, r.done = true, true
	r.cond.Broadcast()
}

// resumed returns how many leading bytes of the slot still match its
// checkpoint, a digester holding them (nil without a checkpoint), and the
// checkpoint's spans whose bytes still match their CRC.
func (s *Slot) resumed() (int64, *manifest.Digester, []*span, error) {
	c, d, err := s.load()
	if err != nil || d == nil {
		return 0, nil, nil, err
	}
	var spans []*span
	for _, sp := range c.Spans {
		if sp.Start < c.N || sp.Start+sp.Len > s.Desc.Size || len(spans) > 0 && sp.Start < spans[len(spans)-1].end {
			continue
		}
		crc, err := crcOf(s.File, s.Offset+sp.Start, sp.Len)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("resume: rereading %s: %w", s.Desc.Digest, err)
		}
		if crc == sp.CRC {
			spans = append(spans, &span{start: sp.Start, end: sp.Start + sp.Len, done: sp.Len, crc: crc})
		}
	}
	return c.N, d, spans, nil
}

// crcOf is the CRC-32C of n bytes of f from off.
func crcOf(f io.ReaderAt, off, n int64) (uint32, error) {
	h := crc32.New(crcTable)
	_, err := io.Copy(h, io.NewSectionReader(f, off, n))
	return h.Sum32(), err
}
