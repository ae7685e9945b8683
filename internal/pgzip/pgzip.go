package pgzip

import (
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
)

// DefaultBlockSize is the block size used when Options.BlockSize is zero:
// 1 MiB, large enough that the cost of a flush and a fresh compressor per
// block is lost in the noise, small enough to keep every core busy on a
// layer of a few MiB.
const DefaultBlockSize = 1 << 20

// DefaultLevel is the level used when Options.Level is zero:
// compress/flate's default (6), as compress/gzip and skiff's layer builders
// use. BestSpeed is about 6 times faster but its output about 7% larger; a
// layer is compressed once and then stored and downloaded many times, and
// on every core level 6 runs at tens of MB/s per core, so the bytes win.
const DefaultLevel = flate.DefaultCompression

// dictSize is how much preceding input primes each block: deflate's window.
const dictSize = 32 << 10

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("pgzip: write after Close")

// Options configure a Writer. The zero value, or a nil pointer, means the
// defaults.
type Options struct {
	// Level is the compression level, as in compress/flate: BestSpeed (1)
	// to BestCompression (9), DefaultCompression (-1) or HuffmanOnly (-2).
	// Zero means DefaultLevel; flate.NoCompression cannot be chosen.
	Level int

	// BlockSize is how many bytes of input are compressed as one block.
	// Zero or less means DefaultBlockSize. The output depends on it.
	BlockSize int

	// Workers caps how many blocks are compressed at once. Zero or less
	// means runtime.GOMAXPROCS(0). The output does not depend on it.
	Workers int
}

// A Writer is an io.WriteCloser that compresses what is written to it and
// writes the gzip stream to an underlying writer, as compress/gzip's Writer
// does, on up to Options.Workers goroutines. Its methods must not be called
// concurrently. The first error, from the underlying writer or a bad option,
// is returned by every later call.
type Writer struct {
	w         io.Writer
	level     int
	blockSize int
	maxQueued int // blocks submitted and not yet written, at most
	pool      pool

	cur     *block   // being filled
	hist    []byte   // the last dictSize bytes of input before cur
	queue   []*block // submitted, in input order
	free    []*block // written, ready for reuse
	started bool     // a block, and so the header, has been submitted
	crc     uint32
	size    uint32 // input length modulo 2^32, as RFC 1952 keeps it
	closed  bool
	err     error
}

// NewWriter returns a Writer that writes a gzip stream to w. A bad option
// is reported by the first call to Write or Close. Close must be called to
// finish the stream; it does not close w.
func NewWriter(w io.Writer, opts *Options) *Writer {
	var o Options
	if opts != nil {
		o = *opts
	}
	z := &Writer{w: w, level: o.Level, blockSize: o.BlockSize}
	if z.level == 0 {
		z.level = DefaultLevel
	}
	if z.level < flate.HuffmanOnly || z.level > flate.BestCompression {
		z.err = fmt.Errorf("pgzip: invalid compression level: %d", o.Level)
	}
	if z.blockSize <= 0 {
		z.blockSize = DefaultBlockSize
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	z.pool = pool{max: workers, level: z.level}
	z.maxQueued = 2 * workers
	return z
}

// Write compresses p. Blocks are compressed in the background as they
// fill, and written to the underlying writer in order as they finish.
func (z *Writer) Write(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if z.closed {
		return 0, ErrClosed
	}
	n := 0
	for len(p) > 0 {
		if z.cur == nil {
			z.cur = z.newBlock()
		}
		if len(z.cur.data) == z.blockSize {
			// More input follows, so the full block is not the last.
			if err := z.submit(false); err != nil {
				return n, err
			}
			continue
		}
		k := min(len(p), z.blockSize-len(z.cur.data))
		z.cur.data = append(z.cur.data, p[:k]...)
		z.crc = crc32.Update(z.crc, crc32.IEEETable, p[:k])
		z.size += uint32(k)
		n += k
		p = p[k:]
	}
	return n, nil
}

// Close compresses the rest of the input, waits for every block and writes
// the gzip trailer. It does not close the underlying writer. Calling Close
// again returns the first call's result.
func (z *Writer) Close() error {
	if z.closed {
		return z.err
	}
	z.closed = true
	if z.err != nil {
		return z.err
	}
	if z.cur == nil {
		z.cur = z.newBlock()
	}
	if err := z.submit(true); err != nil {
		return err
	}
	err := z.drain(0)
	z.free, z.hist = nil, nil
	return err
}

// newBlock returns an empty block, reusing a written one when it can.
func (z *Writer) newBlock() *block {
	if n := len(z.free); n > 0 {
		b := z.free[n-1]
		z.free = z.free[:n-1]
		return b
	}
	return &block{done: make(chan struct{}, 1)}
}

// submit hands the current block to the pool, then writes what has finished,
// waiting while too many blocks are queued.
func (z *Writer) submit(final bool) error {
	b := z.cur
	z.cur = nil
	b.final = final
	b.dict = append(b.dict[:0], z.hist...)
	z.hist = appendTail(z.hist, b.data, dictSize)
	if !z.started {
		b.out.Write(z.header())
		z.started = true
	}
	z.queue = append(z.queue, b)
	z.pool.submit(b)
	return z.drain(z.maxQueued - 1)
}

// drain writes finished blocks from the head of the queue, in order,
// waiting for them while more than limit are queued.
func (z *Writer) drain(limit int) error {
	for len(z.queue) > 0 {
		b := z.queue[0]
		if len(z.queue) > limit {
			<-b.done
		} else {
			select {
			case <-b.done:
			default:
				return nil
			}
		}
		z.queue[0] = nil
		z.queue = z.queue[1:]
		if err := z.emit(b); err != nil {
			return err
		}
	}
	return nil
}

// emit writes a compressed block, with the trailer after the last one, and
// keeps the block for reuse.
func (z *Writer) emit(b *block) error {
	if b.err != nil {
		z.err = fmt.Errorf("pgzip: %w", b.err)
		return z.err
	}
	if b.final {
		b.out.Write(binary.LittleEndian.AppendUint32(nil, z.crc))
		b.out.Write(binary.LittleEndian.AppendUint32(nil, z.size))
	}
	n, err := z.w.Write(b.out.Bytes())
	if err == nil && n < b.out.Len() {
		err = io.ErrShortWrite
	}
	if err != nil {
		z.err = err
		return err
	}
	b.data = b.data[:0]
	b.out.Reset()
	z.free = append(z.free, b)
	return nil
}

// header is the 10-byte gzip header compress/gzip writes for a Header with
// only OS set to 255: no name, no comment, a zero modification time, and
// the extra flags it derives from the level.
func (z *Writer) header() []byte {
	h := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}
	switch z.level {
	case flate.BestCompression:
		h[8] = 2
	case flate.BestSpeed:
		h[8] = 4
	}
	return h
}

// appendTail returns the last n bytes of hist followed by p, reusing hist.
func appendTail(hist, p []byte, n int) []byte {
	if len(p) >= n {
		return append(hist[:0], p[len(p)-n:]...)
	}
	if keep := n - len(p); len(hist) > keep {
		hist = hist[:copy(hist, hist[len(hist)-keep:])]
	}
	return append(hist, p...)
}
