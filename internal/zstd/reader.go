package zstd

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxWindow is the largest window a Reader accepts when
// Options.MaxWindow is zero: 128 MiB, the limit of the zstd command
// (its --long=27).
const DefaultMaxWindow = 128 << 20

// Options tune a Reader. The zero value, like a nil *Options, gives the
// defaults.
type Options struct {
	// MaxWindow is the largest window, in bytes, a frame may ask for; a
	// Reader holds about that much memory while it decodes such a frame.
	// Zero means DefaultMaxWindow.
	MaxWindow int64
}

const (
	maxInt         = int(^uint(0) >> 1)
	frameMagic     = 0xfd2fb528
	skippableMagic = 0x184d2a50 // and the 15 values above it
)

// A Reader decompresses a Zstandard stream: every frame in it, one after
// the other, skipping skippable frames.
type Reader struct {
	r         *bufio.Reader
	maxWindow uint64
	err       error
	out       []byte // decoded bytes not yet returned
	d         decoder

	started  bool // a frame has begun
	inFrame  bool
	checksum bool // the frame ends with a content checksum
	hasSize  bool
	size     uint64 // content size the frame header declares
	produced uint64 // bytes decoded in this frame
	hash     xxh64
	hdr      [18]byte
}

// NewReader returns a Reader that decompresses r. It reads r through a
// buffer, possibly past the end of the zstd data: it expects r to hold
// nothing else. opts may be nil.
func NewReader(r io.Reader, opts *Options) *Reader {
	z := new(Reader)
	z.maxWindow = DefaultMaxWindow
	if opts != nil && opts.MaxWindow > 0 {
		z.maxWindow = uint64(opts.MaxWindow)
	}
	z.Reset(r)
	return z
}

// Reset makes z decompress r from its start, keeping its buffers and
// options.
func (z *Reader) Reset(r io.Reader) {
	if z.r == nil {
		z.r = bufio.NewReaderSize(r, 64<<10)
	} else {
		z.r.Reset(r)
	}
	z.err, z.out = nil, nil
	z.started, z.inFrame = false, false
}

// Read reads decompressed bytes into p. At the end of the last frame it
// returns io.EOF; any other error wraps ErrCorrupt, ErrChecksum,
// ErrWindowTooLarge, ErrDictionary or io.ErrUnexpectedEOF, or is the
// underlying reader's.
func (z *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(z.out) == 0 {
		if z.err != nil {
			return 0, z.err
		}
		z.err = z.next()
	}
	n := copy(p, z.out)
	z.out = z.out[n:]
	return n, nil
}

// WriteTo writes all of the decompressed stream to w, block by block,
// without copying it through a caller's buffer.
func (z *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(z.out) > 0 {
			n, err := w.Write(z.out)
			total += int64(n)
			z.out = z.out[n:]
			if err != nil {
				return total, err
			}
			continue
		}
		if z.err != nil {
			if z.err == io.EOF {
				return total, nil
			}
			return total, z.err
		}
		z.err = z.next()
	}
}

// Close releases z's buffers. It does not close the underlying reader.
func (z *Reader) Close() error {
	z.d = decoder{}
	z.out = nil
	if z.err == nil || z.err == io.EOF {
		z.err = errClosed
	}
	return nil
}

var errClosed = errors.New("zstd: read from a closed Reader")

// next decodes the next block, or reads the next frame header.
func (z *Reader) next() error {
	if z.inFrame {
		return z.block()
	}
	return z.frame()
}

// frame starts the next frame, skipping skippable frames. At the end of
// the input it returns io.EOF.
func (z *Reader) frame() error {
	n, err := io.ReadFull(z.r, z.hdr[:4])
	if err != nil {
		if n == 0 && err == io.EOF {
			if !z.started {
				return corruptf("empty input")
			}
			return io.EOF
		}
		return z.readError(err)
	}
	z.started = true
	magic := binary.LittleEndian.Uint32(z.hdr[:4])
	switch {
	case magic == frameMagic:
		return z.frameHeader()
	case magic&^0xf == skippableMagic:
		if _, err := io.ReadFull(z.r, z.hdr[:4]); err != nil {
			return z.readError(err)
		}
		size := int64(binary.LittleEndian.Uint32(z.hdr[:4]))
		if n, err := io.CopyN(io.Discard, z.r, size); n < size {
			return z.readError(orEOF(err))
		}
		return nil
	}
	return corruptf("not a zstd frame (magic number %#08x)", magic)
}

// frameHeader reads the frame header after the magic number (RFC 8878
// section 3.1.1.1) and prepares the decoder.
func (z *Reader) frameHeader() error {
	fhd, err := z.r.ReadByte()
	if err != nil {
		return z.readError(orEOF(err))
	}
	if fhd&8 != 0 {
		return corruptf("reserved bit set in the frame header")
	}
	single := fhd&0x20 != 0
	didSize := [4]int{0, 1, 2, 4}[fhd&3]
	fcsSize := [4]int{0, 2, 4, 8}[fhd>>6]
	if fcsSize == 0 && single {
		fcsSize = 1
	}
	wdSize := 1
	if single {
		wdSize = 0
	}
	h := z.hdr[:wdSize+didSize+fcsSize]
	if _, err := io.ReadFull(z.r, h); err != nil {
		return z.readError(err)
	}
	var wd byte
	if !single {
		wd, h = h[0], h[1:]
	}
	if did := uleb(h[:didSize]); did != 0 {
		return fmt.Errorf("%w: ID %d (skiff decodes frames without one only)", ErrDictionary, did)
	}
	h = h[didSize:]
	z.hasSize = fcsSize > 0
	z.size = uleb(h)
	if fcsSize == 2 {
		z.size += 256
	}
	var window uint64
	if single {
		window = z.size
	} else {
		log := 10 + uint(wd>>3)
		window = 1<<log + (1<<log)>>3*uint64(wd&7)
	}
	if window > z.maxWindow || window > uint64(maxInt/4) {
		return fmt.Errorf("%w: the frame needs a %s window, above the %s limit",
			ErrWindowTooLarge, sizeString(window), sizeString(z.maxWindow))
	}
	bm := int(min(window, blockMax))
	if z.hasSize && z.size < window {
		window = z.size
	}
	z.d.startFrame(int(window), bm)
	z.checksum = fhd&4 != 0
	z.hash.reset()
	z.produced = 0
	z.inFrame = true
	return nil
}

// block decodes the next block of the frame (section 3.1.1.2), and ends
// the frame after its last block.
func (z *Reader) block() error {
	if _, err := io.ReadFull(z.r, z.hdr[:3]); err != nil {
		return z.readError(err)
	}
	h := int(z.hdr[0]) | int(z.hdr[1])<<8 | int(z.hdr[2])<<16
	last, kind, size := h&1 != 0, h>>1&3, h>>3
	if size > z.d.bm {
		return corruptf("block of %d bytes in a frame whose blocks are at most %d", size, z.d.bm)
	}
	var out []byte
	switch kind {
	case 0:
		z.d.room()
		out = z.d.buf[z.d.w : z.d.w+size]
		if _, err := io.ReadFull(z.r, out); err != nil {
			return z.readError(err)
		}
		z.d.w += size
	case 1:
		b, err := z.r.ReadByte()
		if err != nil {
			return z.readError(orEOF(err))
		}
		out = z.d.rle(b, size)
	case 2:
		z.d.in = sized(z.d.in, size) // raw literals are read past their end
		in := z.d.in[:size]
		if _, err := io.ReadFull(z.r, in); err != nil {
			return z.readError(err)
		}
		var err error
		if out, err = z.d.compressed(in); err != nil {
			return err
		}
	default:
		return corruptf("reserved block type")
	}
	z.produced += uint64(len(out))
	if z.hasSize && z.produced > z.size {
		return corruptf("frame holds more than the %d bytes its header declares", z.size)
	}
	if z.checksum {
		z.hash.write(out)
	}
	z.out = out
	if last {
		return z.endFrame()
	}
	return nil
}

// endFrame checks the content size and checksum at the end of a frame.
func (z *Reader) endFrame() error {
	z.inFrame = false
	if z.hasSize && z.produced != z.size {
		return corruptf("frame holds %d bytes, its header declares %d", z.produced, z.size)
	}
	if !z.checksum {
		return nil
	}
	if _, err := io.ReadFull(z.r, z.hdr[:4]); err != nil {
		return z.readError(err)
	}
	want := binary.LittleEndian.Uint32(z.hdr[:4])
	if got := uint32(z.hash.sum64()); got != want {
		return fmt.Errorf("%w: the frame says %08x, its content hashes to %08x", ErrChecksum, want, got)
	}
	return nil
}

// readError turns the end of the input inside a frame into a truncation
// error and passes any other error of the underlying reader through.
func (z *Reader) readError(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errTruncated
	}
	return err
}

func orEOF(err error) error {
	if err == nil {
		return io.EOF
	}
	return err
}

// errTruncated is the error for input that ends inside a frame: it wraps
// io.ErrUnexpectedEOF and is also ErrCorrupt.
var errTruncated error = truncatedError{}

type truncatedError struct{}

func (truncatedError) Error() string        { return "zstd: corrupt input: truncated frame" }
func (truncatedError) Unwrap() error        { return io.ErrUnexpectedEOF }
func (truncatedError) Is(target error) bool { return target == ErrCorrupt }

// uleb reads a little-endian number of up to 8 bytes.
func uleb(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// sizeString writes a size in the largest binary unit that divides it.
func sizeString(n uint64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
