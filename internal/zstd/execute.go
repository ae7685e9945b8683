package zstd

import "encoding/binary"

// seq is one decoded sequence: copy ll literals, then ml bytes from off
// bytes back.
type seq struct {
	ll, ml, off uint32
}

// seqChunk is how many sequences are decoded at a time. A chunk is
// decoded, and the history its matches will read is touched, while the
// chunk before it has yet to be executed: the cache misses of long
// offsets then overlap each other and the work in between, instead of
// stalling one by one.
const seqChunk = 128

// seqReader decodes sequences from a sequences bitstream.
type seqReader struct {
	br            bitReader
	llS, mlS, ofS uint64
	llt, mlt, oft *[1 << maxLLLog]seqEntry
	rep           [3]uint32
	at            int // where the next sequence decoded will write
	from          [seqChunk]int
}

// execute decodes nseq sequences from the bitstream src and executes them
// (RFC 8878 section 3.1.1.4): each copies literals from lits, then a match
// from the history, to the output at d.w.
func (d *decoder) execute(nseq int, src, lits []byte) error {
	var sr seqReader
	if err := sr.br.init(src); err != nil {
		return err
	}
	sr.llt, sr.oft, sr.mlt = &d.ll.t, &d.of.t, &d.ml.t
	sr.llS = sr.br.get(d.ll.log)
	sr.ofS = sr.br.get(d.of.log)
	sr.mlS = sr.br.get(d.ml.log)
	sr.rep = d.rep
	x := executor{buf: d.buf, pos: d.w, limit: d.w + d.bm, bm: d.bm, window: uint64(d.window), prevEnd: d.end, lits: lits}
	sr.at = d.w
	// Decode a chunk ahead of the one executed, so the history it will
	// read is already on its way to the cache.
	var chunks [2][seqChunk]seq
	ahead := chunks[0][:min(nseq, seqChunk)]
	nseq -= len(ahead)
	if err := sr.decode(ahead, nseq == 0, &x); err != nil {
		return err
	}
	for cur := 0; len(ahead) > 0; cur ^= 1 {
		now := ahead
		ahead = chunks[cur^1][:min(nseq, seqChunk)]
		nseq -= len(ahead)
		if err := sr.decode(ahead, nseq == 0, &x); err != nil {
			return err
		}
		if err := x.run(now); err != nil {
			return err
		}
	}
	sr.br.refill()
	if !sr.br.finished() {
		return corruptf("sequences bitstream does not end with the last sequence")
	}
	d.rep = sr.rep
	d.touched ^= x.touched // keeps the touching loads
	rest := lits[x.lp:]
	if len(rest) > x.limit-x.pos {
		return corruptf("block output larger than %d bytes", d.bm)
	}
	d.w = x.pos + copy(x.buf[x.pos:], rest)
	return nil
}

// decode decodes len(seqs) sequences, the last ones of the block when last
// is set (whose states are then not updated). It resolves repeat offsets,
// then touches the history where each match will read: loads nothing
// waits for, in a loop short enough that they all miss the cache at once.
func (sr *seqReader) decode(seqs []seq, last bool, x *executor) error {
	br := &sr.br
	c, used, off, src := br.c, br.used, br.off, br.b
	llS, mlS, ofS := sr.llS, sr.mlS, sr.ofS
	llt, mlt, oft := sr.llt, sr.mlt, sr.oft
	r1, r2, r3 := sr.rep[0], sr.rep[1], sr.rep[2]
	at, from := sr.at, sr.from[:len(seqs)]
	for i := range seqs {
		if n := int(used >> 3); off >= n {
			off -= n
			used &= 7
			c = binary.LittleEndian.Uint64(src[off:])
		} else {
			c, used, off = refillSlow(src, c, used, off)
		}
		lle, mle, ofe := llt[llS&511], mlt[mlS&511], oft[ofS&511]
		ofv := ofe.base + uint32(c<<(used&63)>>1>>((63-ofe.extra)&63))
		used += uint(ofe.extra)
		ml := mle.base + uint32(c<<(used&63)>>1>>((63-mle.extra)&63))
		used += uint(mle.extra)
		if ofe.extra+mle.extra+lle.extra > 30 {
			if n := int(used >> 3); off >= n {
				off -= n
				used &= 7
				c = binary.LittleEndian.Uint64(src[off:])
			} else {
				c, used, off = refillSlow(src, c, used, off)
			}
		}
		ll := lle.base + uint32(c<<(used&63)>>1>>((63-lle.extra)&63))
		used += uint(lle.extra)
		if !last || i < len(seqs)-1 {
			llS = uint64(lle.next) + c<<(used&63)>>1>>((63-lle.nb)&63)
			used += uint(lle.nb)
			mlS = uint64(mle.next) + c<<(used&63)>>1>>((63-mle.nb)&63)
			used += uint(mle.nb)
			ofS = uint64(ofe.next) + c<<(used&63)>>1>>((63-ofe.nb)&63)
			used += uint(ofe.nb)
		}

		var o uint32
		if ofe.extra > 1 { // offset codes 2 and up are new offsets
			o = ofv - 3
			r1, r2, r3 = o, r1, r2
		} else {
			idx := ofv - 1
			if ll == 0 {
				idx++
			}
			switch idx {
			case 0:
				o = r1
			case 1:
				o = r2
				r1, r2 = r2, r1
			case 2:
				o = r3
				r1, r2, r3 = r3, r1, r2
			default:
				o = r1 - 1
				if o == 0 {
					return corruptf("repeat offset of zero")
				}
				r1, r2, r3 = o, r1, r2
			}
		}
		seqs[i] = seq{ll: ll, ml: ml, off: o}

		at += int(ll)
		from[i] = at - int(o)
		at += int(ml)
	}
	br.c, br.used, br.off = c, used, off
	sr.llS, sr.mlS, sr.ofS = llS, mlS, ofS
	sr.rep = [3]uint32{r1, r2, r3}
	sr.at = at
	buf, touched := x.buf, x.touched
	for _, f := range from {
		if f < 0 {
			f += x.prevEnd
		}
		if f >= 0 && f+16 <= len(buf) {
			touched ^= buf[f] ^ buf[f+15] // the 16 bytes a short match reads
		}
	}
	x.touched = touched
	return nil
}

// refillSlow is bitReader.refill near the start of the stream, on values.
func refillSlow(src []byte, c uint64, used uint, off int) (uint64, uint, int) {
	br := bitReader{b: src, c: c, used: used, off: off}
	br.refillSlow()
	return br.c, br.used, br.off
}

// executor executes sequences into the history.
type executor struct {
	buf        []byte
	pos, limit int // where the next byte goes; the end of the block
	bm         int // the largest block
	window     uint64
	prevEnd    int // end of the previous segment of the history, or 0
	lits       []byte
	lp         int  // literals used
	touched    byte // keeps the touching loads of decode alive
}

// run executes seqs. Short copies move 8 bytes at a time, past their end
// into the slack that the literal and history buffers keep for that.
func (x *executor) run(seqs []seq) error {
	buf, pos, limit, lits, lp := x.buf, x.pos, x.limit, x.lits, x.lp
	wild := lits[:cap(lits)] // the literals and the slack after them
	for _, s := range seqs {
		ll, ml := int(s.ll), int(s.ml)
		if ll > len(lits)-lp {
			return corruptf("sequence uses more literals than the block has")
		}
		if ll+ml > limit-pos {
			return corruptf("block output larger than %d bytes", x.bm)
		}
		if ll <= 16 {
			binary.LittleEndian.PutUint64(buf[pos:], binary.LittleEndian.Uint64(wild[lp:]))
			binary.LittleEndian.PutUint64(buf[pos+8:], binary.LittleEndian.Uint64(wild[lp+8:]))
		} else {
			copy(buf[pos:pos+ll], lits[lp:lp+ll])
		}
		pos += ll
		lp += ll

		if uint64(s.off) > x.window {
			return corruptf("offset %d beyond the window", s.off)
		}
		dist := int(s.off)
		from := pos - dist
		if from < 0 {
			// The match starts in the previous segment of the history,
			// where it cannot overlap its output.
			if x.prevEnd == 0 {
				return corruptf("offset %d before the start of the frame", s.off)
			}
			from += x.prevEnd
			if n := x.prevEnd - from; n < ml {
				// It runs on into the current segment, from its start.
				copy(buf[pos:pos+n], buf[from:from+n])
				pos += n
				ml -= n
				from = 0
			} else {
				dist = maxInt
			}
		}
		if dist >= 8 {
			// Steps of 8 bytes are exact even when the match overlaps
			// its own output, as each reads only bytes already written.
			binary.LittleEndian.PutUint64(buf[pos:], binary.LittleEndian.Uint64(buf[from:]))
			binary.LittleEndian.PutUint64(buf[pos+8:], binary.LittleEndian.Uint64(buf[from+8:]))
			if ml > 16 {
				if ml > 64 && dist >= ml {
					copy(buf[pos+16:pos+ml], buf[from+16:from+ml])
				} else {
					for i := 16; i < ml; i += 8 {
						binary.LittleEndian.PutUint64(buf[pos+i:], binary.LittleEndian.Uint64(buf[from+i:]))
					}
				}
			}
		} else {
			overlapCopy(buf, pos, from, ml)
		}
		pos += ml
	}
	x.pos, x.lp = pos, lp
	return nil
}

// overlapCopy copies a match that overlaps its own output: it repeats the
// pos-from bytes before pos.
func overlapCopy(buf []byte, pos, from, ml int) {
	end := pos + ml
	if pos-from < 8 && ml <= 16 {
		for ; pos < end; pos++ {
			buf[pos] = buf[from]
			from++
		}
		return
	}
	for pos < end {
		pos += copy(buf[pos:end], buf[from:pos])
	}
}
