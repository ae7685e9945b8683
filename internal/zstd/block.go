package zstd

import "encoding/binary"

// slack is room past the end of the output and literal buffers, so a block
// can never be decoded at the very edge of a buffer.
const slack = 64

// decoder is the state a frame's blocks share: the history of decoded
// bytes, the entropy tables a block may repeat, and the repeat offsets.
//
// The history is buf. Blocks are decoded straight into it, one after the
// other, from 0 up; the block just decoded is what the Reader hands out.
// Once the next block might not fit, decoding starts again at 0 and the
// bytes up to end stay behind as the previous segment: buf holds at least
// window+2*(bm+slack) bytes by then, so the previous segment keeps every
// byte within window of the current position, and the current block never
// reaches the part of it still in use.
type decoder struct {
	buf    []byte
	w      int // end of the current segment: where the next block goes
	end    int // end of the previous segment, 0 before the first wrap
	window int // the frame's window, capped by its content size
	bm     int // the frame's largest block

	huf   huffTable
	hufOK bool // huf holds a tree a treeless literals block may repeat

	ll, of, ml          *seqTable // tables a sequence section may repeat
	llBuf, ofBuf, mlBuf seqTable
	rep                 [3]uint32

	lits []byte // decoded literals of the current block
	in   []byte // the current compressed block

	touched byte // what execute's loads ahead of time read, unused
}

// startFrame resets the decoder for a frame with this window and largest
// block.
func (d *decoder) startFrame(window, bm int) {
	d.w, d.end = 0, 0
	d.window, d.bm = window, bm
	d.hufOK = false
	d.ll, d.of, d.ml = nil, nil, nil
	d.rep = [3]uint32{1, 4, 8}
}

// room makes sure a whole block fits at d.w, growing the history up to
// its full size first, then wrapping to its start.
//
// The history doubles while it is small, so that a frame holding less
// than its window costs what it holds; past a 32nd of its full size it
// grows to that size in one step. Growing copies the history, and while
// it does both copies are held: doubling up to the full size would hold
// one and a half times the window, and the garbage of the steps before
// as much again, where one step holds less than a sixteenth more.
func (d *decoder) room() {
	need := d.w + d.bm + slack
	if need <= len(d.buf) {
		return
	}
	full := d.window + 2*(d.bm+slack)
	if len(d.buf) < full {
		size := max(2*len(d.buf), need, 64<<10)
		if size > full/32 {
			size = full
		}
		nb := make([]byte, size)
		copy(nb, d.buf[:d.w])
		d.buf = nb
		if need <= len(d.buf) {
			return
		}
	}
	d.end, d.w = d.w, 0
}

// sized returns b, or a new buffer if b is too small, with room for n
// bytes and the slack after them. It grows in steps, up to a block.
func sized(b []byte, n int) []byte {
	if n+slack <= cap(b) {
		return b[:cap(b)]
	}
	return make([]byte, min(max(n, 2*cap(b)), blockMax)+slack)
}

// rle writes n copies of b as the next block.
func (d *decoder) rle(b byte, n int) []byte {
	d.room()
	out := d.buf[d.w : d.w+n]
	for i := range out {
		out[i] = b
	}
	d.w += n
	return out
}

// compressed decodes a compressed block (RFC 8878 section 3.1.1.3) and
// returns its output.
func (d *decoder) compressed(in []byte) ([]byte, error) {
	d.room()
	start := d.w
	lits, n, err := d.literals(in)
	if err != nil {
		return nil, err
	}
	if err := d.sequences(in[n:], lits); err != nil {
		return nil, err
	}
	return d.buf[start:d.w], nil
}

// literals decodes the literals section at the start of in (section
// 3.1.1.3.1) and returns the literals and the bytes it took.
func (d *decoder) literals(in []byte) ([]byte, int, error) {
	if len(in) == 0 {
		return nil, 0, corruptf("empty block")
	}
	kind := in[0] & 3
	if kind < 2 {
		return d.rawLiterals(in)
	}
	var regen, size, hdr int
	switch (in[0] >> 2) & 3 {
	case 0, 1:
		if len(in) < 3 {
			return nil, 0, corruptf("literals header is truncated")
		}
		v := int(in[0]) | int(in[1])<<8 | int(in[2])<<16
		regen, size, hdr = v>>4&0x3ff, v>>14&0x3ff, 3
	case 2:
		if len(in) < 4 {
			return nil, 0, corruptf("literals header is truncated")
		}
		v := binary.LittleEndian.Uint32(in)
		regen, size, hdr = int(v>>4&0x3fff), int(v>>18&0x3fff), 4
	case 3:
		if len(in) < 5 {
			return nil, 0, corruptf("literals header is truncated")
		}
		v := uint64(binary.LittleEndian.Uint32(in)) | uint64(in[4])<<32
		regen, size, hdr = int(v>>4&0x3ffff), int(v>>22&0x3ffff), 5
	}
	if regen > d.bm {
		return nil, 0, corruptf("%d literals in a block of at most %d bytes", regen, d.bm)
	}
	if hdr+size > len(in) {
		return nil, 0, corruptf("literals section is longer than its block")
	}
	src := in[hdr : hdr+size]
	if kind == 2 {
		d.hufOK = false
		n, err := d.huf.read(src)
		if err != nil {
			return nil, 0, err
		}
		d.hufOK = true
		src = src[n:]
	} else if !d.hufOK {
		return nil, 0, corruptf("treeless literals without a previous Huffman tree")
	}
	d.lits = sized(d.lits, regen)
	lits := d.lits[:regen]
	var err error
	if (in[0]>>2)&3 == 0 {
		err = d.huf.decode1(lits, src)
	} else {
		err = d.huf.decode4(lits, src)
	}
	return lits, hdr + size, err
}

// rawLiterals reads raw and RLE literals sections.
func (d *decoder) rawLiterals(in []byte) ([]byte, int, error) {
	var regen, hdr int
	switch (in[0] >> 2) & 3 {
	case 0, 2:
		regen, hdr = int(in[0]>>3), 1
	case 1:
		if len(in) < 2 {
			return nil, 0, corruptf("literals header is truncated")
		}
		regen, hdr = int(in[0]>>4)|int(in[1])<<4, 2
	case 3:
		if len(in) < 3 {
			return nil, 0, corruptf("literals header is truncated")
		}
		regen, hdr = int(in[0]>>4)|int(in[1])<<4|int(in[2])<<12, 3
	}
	if regen > d.bm {
		return nil, 0, corruptf("%d literals in a block of at most %d bytes", regen, d.bm)
	}
	if in[0]&3 == 0 {
		if hdr+regen > len(in) {
			return nil, 0, corruptf("raw literals are longer than their block")
		}
		return in[hdr : hdr+regen], hdr + regen, nil
	}
	if hdr >= len(in) {
		return nil, 0, corruptf("RLE literals without their byte")
	}
	d.lits = sized(d.lits, regen)
	lits := d.lits[:regen]
	b := in[hdr]
	for i := range lits {
		lits[i] = b
	}
	return lits, hdr + 1, nil
}
