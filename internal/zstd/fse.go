package zstd

import (
	"encoding/binary"
	"math/bits"
)

// readDist reads an FSE table description (RFC 8878 section 4.1.1) from
// the start of b into norm: the normalized count of every symbol up to the
// last present one, -1 meaning "less than 1". It refuses a symbol above
// maxSym and an accuracy log above maxLog, and returns the number of
// symbols, the accuracy log and the bytes read.
func readDist(b []byte, norm *[256]int16, maxSym int, maxLog uint8) (nsym int, log uint8, n int, err error) {
	if len(b) == 0 {
		return 0, 0, 0, corruptf("missing FSE table description")
	}
	log = b[0]&15 + 5
	if log > maxLog {
		return 0, 0, 0, corruptf("FSE accuracy log %d above %d", log, maxLog)
	}
	pos := 4 // bits read so far
	remaining := 1 << log
	sym := 0
	for remaining > 0 {
		if sym > maxSym {
			return 0, 0, 0, corruptf("FSE table description has too many symbols")
		}
		max := remaining + 1 // the largest value that can follow
		nb := bits.Len(uint(max))
		threshold := 1<<nb - 1 - max
		v := int(peekForward(b, pos))
		val := v & (1<<(nb-1) - 1)
		if val < threshold {
			pos += nb - 1
		} else {
			val = v & (1<<nb - 1)
			if val >= 1<<(nb-1) {
				val -= threshold
			}
			pos += nb
		}
		prob := val - 1
		norm[sym] = int16(prob)
		sym++
		if prob == -1 {
			remaining--
			continue
		}
		remaining -= prob
		if prob == 0 {
			if sym, pos, err = zeroRun(b, norm, sym, pos, maxSym); err != nil {
				return 0, 0, 0, err
			}
		}
		if pos > 8*len(b) {
			break
		}
	}
	if pos > 8*len(b) {
		return 0, 0, 0, corruptf("FSE table description is truncated")
	}
	return sym, log, (pos + 7) / 8, nil
}

// zeroRun reads the 2-bit repeat flags that follow a zero probability: how
// many more symbols have probability zero.
func zeroRun(b []byte, norm *[256]int16, sym, pos, maxSym int) (int, int, error) {
	for {
		r := int(peekForward(b, pos) & 3)
		pos += 2
		if sym+r > maxSym+1 {
			return 0, 0, corruptf("FSE table description has too many symbols")
		}
		for i := 0; i < r; i++ {
			norm[sym] = 0
			sym++
		}
		if r != 3 || pos > 8*len(b) {
			return sym, pos, nil
		}
	}
}

// peekForward returns at least 24 bits of b from bit pos on, read
// little-endian (zeros past the end).
func peekForward(b []byte, pos int) uint32 {
	i := pos >> 3
	var v uint32
	if i+4 <= len(b) {
		v = binary.LittleEndian.Uint32(b[i:])
	} else {
		for k := 0; i+k < len(b) && k < 4; k++ {
			v |= uint32(b[i+k]) << (8 * k)
		}
	}
	return v >> (pos & 7)
}

// spread assigns a symbol to each of the 1<<log states (section 4.1.1.1):
// "less than 1" symbols take the last states, the others are spread with
// the step (size/2 + size/8 + 3). next[s] is left at the count of s, the
// first value of its state counter.
func spread(norm []int16, log uint8, syms []uint8, next *[256]uint16) error {
	size := 1 << log
	high := size - 1
	total := 0
	for s, p := range norm {
		switch {
		case p == -1:
			if high < 0 {
				return corruptf("FSE distribution overflows its table")
			}
			syms[high] = uint8(s)
			high--
			next[s] = 1
			total++
		case p >= 0:
			next[s] = uint16(p)
			total += int(p)
		default:
			return corruptf("invalid FSE probability")
		}
	}
	if total != size {
		return corruptf("FSE distribution does not fill its table")
	}
	step := size>>1 + size>>3 + 3
	mask := size - 1
	pos := 0
	for s, p := range norm {
		for i := 0; i < int(p); i++ {
			syms[pos] = uint8(s)
			pos = (pos + step) & mask
			for pos > high {
				pos = (pos + step) & mask
			}
		}
	}
	if pos != 0 {
		return corruptf("FSE distribution does not spread evenly")
	}
	return nil
}

// stateBits is the number of bits and the baseline that lead from a state
// to the next, for the x-th use of a symbol (x counts from its probability).
func stateBits(x uint16, log uint8) (uint8, uint16) {
	nb := log + 1 - uint8(bits.Len16(x))
	return nb, x<<nb - 1<<log
}

// fseEntry is one state of an FSE decoding table: the symbol it decodes and
// how to reach the next state.
type fseEntry struct {
	sym  uint8
	nb   uint8
	next uint16
}

// buildFSE fills t[:1<<log] from a normalized distribution.
func buildFSE(norm []int16, log uint8, t []fseEntry) error {
	var syms [1 << maxWeightLog]uint8
	var next [256]uint16
	size := 1 << log
	if err := spread(norm, log, syms[:size], &next); err != nil {
		return err
	}
	for u := 0; u < size; u++ {
		s := syms[u]
		nb, nx := stateBits(next[s], log)
		next[s]++
		t[u] = fseEntry{sym: s, nb: nb, next: nx}
	}
	return nil
}

// seqEntry is one state of a sequence decoding table, with the symbol
// already turned into its baseline and extra bits.
type seqEntry struct {
	base  uint32 // the value before extra bits (1<<code for offsets)
	extra uint8  // extra bits to read for the value
	nb    uint8  // bits to read for the next state
	next  uint16 // next state before those bits are added
}

// seqTable is a sequence decoding table of 1<<log states, at most 512.
type seqTable struct {
	log uint8
	t   [1 << maxLLLog]seqEntry
}

// The three kinds of sequence symbols.
const (
	kindLL = iota
	kindOF
	kindML
)

// valueOf returns the baseline and extra bits of a code of the given kind.
func valueOf(kind int, code uint8) (uint32, uint8) {
	switch kind {
	case kindLL:
		return llBase[code], llBits[code]
	case kindML:
		return mlBase[code], mlBits[code]
	}
	return 1 << code, code
}

// build fills the table from a normalized distribution of kind's codes.
func (st *seqTable) build(norm []int16, log uint8, kind int) error {
	var syms [1 << maxLLLog]uint8
	var next [256]uint16
	size := 1 << log
	if err := spread(norm, log, syms[:size], &next); err != nil {
		return err
	}
	st.log = log
	for u := 0; u < size; u++ {
		s := syms[u]
		nb, nx := stateBits(next[s], log)
		next[s]++
		base, extra := valueOf(kind, s)
		st.t[u] = seqEntry{base: base, extra: extra, nb: nb, next: nx}
	}
	return nil
}

// rle makes the table decode one code, always: RLE mode.
func (st *seqTable) rle(kind int, code uint8) {
	base, extra := valueOf(kind, code)
	st.log = 0
	st.t[0] = seqEntry{base: base, extra: extra}
}

// The tables of the predefined distributions, built once.
var predefLL, predefML, predefOF = predefined(llDefault, 6, kindLL), predefined(mlDefault, 6, kindML), predefined(ofDefault, 5, kindOF)

func predefined(norm []int16, log uint8, kind int) *seqTable {
	st := new(seqTable)
	if err := st.build(norm, log, kind); err != nil {
		panic("zstd: predefined table: " + err.Error())
	}
	return st
}
