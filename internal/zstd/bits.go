package zstd

import (
	"encoding/binary"
	"math/bits"
)

// bitReader reads a bitstream backwards, as FSE and Huffman streams are
// written (RFC 8878 section 4.1): the last byte holds the first bits, above
// a final 1 bit that marks where they start.
//
// c holds 64 bits of the stream loaded from b[off:off+8], little-endian;
// the next bits to read are the highest ones after skipping used. Reading
// past the start of the stream is not checked bit by bit: the values are
// then meaningless but bounded (a read of n bits is always below 1<<n), and
// callers ask overflowed or finished once they are done.
type bitReader struct {
	b     []byte
	c     uint64
	used  uint // bits of c consumed, from the top
	off   int  // c was loaded from b[off:]; -1 for a stream shorter than 8 bytes
	limit uint // bits of c that belong to the stream once off <= 0
}

// init starts reading b from its end.
func (br *bitReader) init(b []byte) error {
	if len(b) == 0 {
		return corruptf("empty bitstream")
	}
	last := b[len(b)-1]
	if last == 0 {
		return corruptf("bitstream without its end mark")
	}
	br.b = b
	if len(b) >= 8 {
		br.off = len(b) - 8
		br.c = binary.LittleEndian.Uint64(b[br.off:])
		br.limit = 64
	} else {
		var c uint64
		for i := len(b) - 1; i >= 0; i-- {
			c = c<<8 | uint64(b[i])
		}
		br.c = c << (64 - 8*uint(len(b)))
		br.off = -1
		br.limit = 8 * uint(len(b))
	}
	br.used = uint(bits.LeadingZeros8(last)) + 1
	return nil
}

// get reads n bits, n <= 56 (and at most what refill guarantees).
func (br *bitReader) get(n uint8) uint64 {
	v := br.c << (br.used & 63) >> 1 >> ((63 - n) & 63)
	br.used += uint(n)
	return v
}

// refill reloads c so that at least 56 bits are available, unless the
// start of the stream is near.
func (br *bitReader) refill() {
	if n := int(br.used >> 3); br.off >= n {
		br.off -= n
		br.used &= 7
		br.c = binary.LittleEndian.Uint64(br.b[br.off:])
		return
	}
	br.refillSlow()
}

func (br *bitReader) refillSlow() {
	if br.off <= 0 {
		return
	}
	br.used -= uint(br.off) * 8
	br.off = 0
	br.c = binary.LittleEndian.Uint64(br.b)
}

// overflowed reports whether more bits were read than the stream holds.
func (br *bitReader) overflowed() bool {
	return br.off <= 0 && br.used > br.limit
}

// finished reports whether every bit of the stream was read, exactly.
func (br *bitReader) finished() bool {
	return br.off <= 0 && br.used == br.limit
}
