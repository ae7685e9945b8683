package zstd

import (
	"encoding/binary"
	"math/bits"
)

// huffTable decodes Huffman-coded literals (RFC 8878 section 4.2) with one
// lookup of the next 11 bits: each entry is the symbol in its low byte and
// the length of its code above. Codes shorter than 11 bits fill several
// entries.
type huffTable struct {
	t [1 << maxHufBits]uint16
}

// read reads a Huffman tree description (section 4.2.1) from the start of
// b and builds the table. It returns the bytes read.
func (h *huffTable) read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, corruptf("missing Huffman tree description")
	}
	var w [256]uint8
	hb := int(b[0])
	var n, used int
	if hb < 128 {
		if 1+hb > len(b) {
			return 0, corruptf("Huffman tree description is truncated")
		}
		var err error
		if n, err = fseWeights(b[1:1+hb], &w); err != nil {
			return 0, err
		}
		used = 1 + hb
	} else {
		n = hb - 127
		used = 1 + (n+1)/2
		if used > len(b) {
			return 0, corruptf("Huffman tree description is truncated")
		}
		for i := 0; i < n; i++ {
			x := b[1+i/2]
			if i&1 == 0 {
				x >>= 4
			}
			w[i] = x & 15
		}
	}
	return used, h.build(&w, n)
}

// build completes the n weights with the last one and fills the table.
func (h *huffTable) build(w *[256]uint8, n int) error {
	var count [maxHufBits + 1]int
	total := 0
	for _, x := range w[:n] {
		if x > maxHufBits {
			return corruptf("Huffman weight %d above %d", x, maxHufBits)
		}
		count[x]++
		if x > 0 {
			total += 1 << (x - 1)
		}
	}
	if total == 0 {
		return corruptf("Huffman tree without symbols")
	}
	maxBits := bits.Len(uint(total))
	if maxBits > maxHufBits {
		return corruptf("Huffman codes longer than %d bits", maxHufBits)
	}
	rest := 1<<maxBits - total
	if rest&(rest-1) != 0 {
		return corruptf("Huffman weights do not complete a tree")
	}
	last := uint8(bits.Len(uint(rest)))
	w[n] = last
	count[last]++
	// Codes are given in order of weight, then symbol: the lightest first.
	var start [maxHufBits + 1]int
	pos := 0
	for x := 1; x <= maxBits; x++ {
		start[x] = pos
		pos += count[x] << (x - 1) << (maxHufBits - maxBits)
	}
	for s, x := range w[:n+1] {
		if x == 0 {
			continue
		}
		e := uint16(s) | uint16(maxBits+1-int(x))<<8
		span := 1 << (x - 1) << (maxHufBits - maxBits)
		p := start[x]
		for i := p; i < p+span; i++ {
			h.t[i] = e
		}
		start[x] = p + span
	}
	return nil
}

// fseWeights decodes FSE-compressed Huffman weights: two states sharing one
// table, taking turns, until the stream runs out (section 4.2.1.2).
func fseWeights(b []byte, w *[256]uint8) (int, error) {
	var norm [256]int16
	nsym, log, n, err := readDist(b, &norm, 255, maxWeightLog)
	if err != nil {
		return 0, err
	}
	var t [1 << maxWeightLog]fseEntry
	if err := buildFSE(norm[:nsym], log, t[:]); err != nil {
		return 0, err
	}
	var br bitReader
	if err := br.init(b[n:]); err != nil {
		return 0, err
	}
	const mask = 1<<maxWeightLog - 1
	s1 := br.get(log) & mask
	s2 := br.get(log) & mask
	br.refill()
	if br.overflowed() {
		return 0, corruptf("Huffman weights stream is truncated")
	}
	count := 0
	for {
		if count > 253 {
			return 0, corruptf("too many Huffman weights")
		}
		e := t[s1]
		w[count] = e.sym
		count++
		s1 = (uint64(e.next) + br.get(e.nb)) & mask
		br.refill()
		if br.overflowed() {
			w[count] = t[s2].sym
			return count + 1, nil
		}
		e = t[s2]
		w[count] = e.sym
		count++
		s2 = (uint64(e.next) + br.get(e.nb)) & mask
		br.refill()
		if br.overflowed() {
			w[count] = t[s1].sym
			return count + 1, nil
		}
	}
}

// decode1 decodes one Huffman stream into all of dst.
func (h *huffTable) decode1(dst, src []byte) error {
	var br bitReader
	if err := br.init(src); err != nil {
		return err
	}
	t := &h.t
	c, used, off := br.c, br.used, br.off
	i := 0
	for ; off >= 8 && i+5 <= len(dst); i += 5 {
		off -= int(used >> 3)
		used &= 7
		c = binary.LittleEndian.Uint64(src[off:])
		d := dst[i : i+5 : i+5]
		e := t[c<<used>>53]
		d[0] = byte(e)
		used += uint(e >> 8)
		e = t[c<<(used&63)>>53]
		d[1] = byte(e)
		used += uint(e >> 8)
		e = t[c<<(used&63)>>53]
		d[2] = byte(e)
		used += uint(e >> 8)
		e = t[c<<(used&63)>>53]
		d[3] = byte(e)
		used += uint(e >> 8)
		e = t[c<<(used&63)>>53]
		d[4] = byte(e)
		used += uint(e >> 8)
	}
	br.c, br.used, br.off = c, used, off
	return h.tail(&br, dst[i:])
}

// tail decodes the rest of a stream symbol by symbol and checks that the
// stream ends exactly with the last symbol.
func (h *huffTable) tail(br *bitReader, dst []byte) error {
	for i := range dst {
		br.refill()
		e := h.t[br.c<<(br.used&63)>>53]
		dst[i] = byte(e)
		br.used += uint(e >> 8)
	}
	br.refill()
	if !br.finished() {
		return corruptf("Huffman stream does not end with its last literal")
	}
	return nil
}

// decode4 decodes four Huffman streams, interleaved, into the four quarters
// of dst (section 3.1.1.3.1.6: the last quarter may be up to 3 bytes short).
func (h *huffTable) decode4(dst, src []byte) error {
	if len(src) < 10 || len(dst) < 6 {
		return corruptf("four literal streams in %d bytes", len(src))
	}
	n1 := int(binary.LittleEndian.Uint16(src))
	n2 := int(binary.LittleEndian.Uint16(src[2:]))
	n3 := int(binary.LittleEndian.Uint16(src[4:]))
	src = src[6:]
	if n1+n2+n3 >= len(src) {
		return corruptf("literal stream sizes exceed their section")
	}
	s0, s1, s2, s3 := src[:n1], src[n1:n1+n2], src[n1+n2:n1+n2+n3], src[n1+n2+n3:]
	seg := (len(dst) + 3) / 4
	d0, d1, d2, d3 := dst[:seg], dst[seg:2*seg], dst[2*seg:3*seg], dst[3*seg:]
	var br [4]bitReader
	for i, s := range [4][]byte{s0, s1, s2, s3} {
		if err := br[i].init(s); err != nil {
			return err
		}
	}
	b0, b1, b2, b3 := &br[0], &br[1], &br[2], &br[3]
	i := h.fast4(d0, d1, d2, d3, b0, b1, b2, b3)
	for k, d := range [4][]byte{d0, d1, d2, d3} {
		if err := h.tail(&br[k], d[i:]); err != nil {
			return err
		}
	}
	return nil
}

// fast4 decodes the four streams in step, four symbols each per refill,
// while every stream has at least 8 bytes left to load. It returns how many
// symbols each stream produced.
func (h *huffTable) fast4(d0, d1, d2, d3 []byte, b0, b1, b2, b3 *bitReader) int {
	t := &h.t
	c0, u0, o0, s0 := b0.c, b0.used, b0.off, b0.b
	c1, u1, o1, s1 := b1.c, b1.used, b1.off, b1.b
	c2, u2, o2, s2 := b2.c, b2.used, b2.off, b2.b
	c3, u3, o3, s3 := b3.c, b3.used, b3.off, b3.b
	n := len(d3) // the shortest quarter
	i := 0
	for ; i+4 <= n && min(o0, o1, o2, o3) >= 8; i += 4 {
		o0 -= int(u0 >> 3)
		u0 &= 7
		c0 = binary.LittleEndian.Uint64(s0[o0:])
		o1 -= int(u1 >> 3)
		u1 &= 7
		c1 = binary.LittleEndian.Uint64(s1[o1:])
		o2 -= int(u2 >> 3)
		u2 &= 7
		c2 = binary.LittleEndian.Uint64(s2[o2:])
		o3 -= int(u3 >> 3)
		u3 &= 7
		c3 = binary.LittleEndian.Uint64(s3[o3:])
		x0, x1, x2, x3 := d0[i:i+4:i+4], d1[i:i+4:i+4], d2[i:i+4:i+4], d3[i:i+4:i+4]
		for k := 0; k < 4; k++ {
			e0 := t[c0<<(u0&63)>>53]
			e1 := t[c1<<(u1&63)>>53]
			e2 := t[c2<<(u2&63)>>53]
			e3 := t[c3<<(u3&63)>>53]
			x0[k], x1[k], x2[k], x3[k] = byte(e0), byte(e1), byte(e2), byte(e3)
			u0 += uint(e0 >> 8)
			u1 += uint(e1 >> 8)
			u2 += uint(e2 >> 8)
			u3 += uint(e3 >> 8)
		}
	}
	b0.c, b0.used, b0.off = c0, u0, o0
	b1.c, b1.used, b1.off = c1, u1, o1
	b2.c, b2.used, b2.off = c2, u2, o2
	b3.c, b3.used, b3.off = c3, u3, o3
	return i
}
