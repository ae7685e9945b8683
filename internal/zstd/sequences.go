package zstd

// sequences decodes the sequences section in (RFC 8878 section
// 3.1.1.3.2) and executes it with lits, appending the block's output to
// the history.
func (d *decoder) sequences(in, lits []byte) error {
	if len(in) == 0 {
		return corruptf("sequences section is missing")
	}
	nseq, n := int(in[0]), 1
	switch {
	case nseq == 255:
		if len(in) < 3 {
			return corruptf("sequences header is truncated")
		}
		nseq, n = int(in[1])|int(in[2])<<8+0x7f00, 3
	case nseq >= 128:
		if len(in) < 2 {
			return corruptf("sequences header is truncated")
		}
		nseq, n = (nseq-128)<<8|int(in[1]), 2
	}
	if nseq == 0 {
		if n != len(in) {
			return corruptf("bytes after an empty sequences section")
		}
		return d.appendLiterals(lits)
	}
	if n >= len(in) {
		return corruptf("sequences header is truncated")
	}
	modes := in[n]
	n++
	if modes&3 != 0 {
		return corruptf("reserved bits set in the sequences header")
	}
	var err error
	var k int
	if d.ll, k, err = d.table(in[n:], modes>>6, kindLL, d.ll, &d.llBuf); err != nil {
		return err
	}
	n += k
	if d.of, k, err = d.table(in[n:], modes>>4&3, kindOF, d.of, &d.ofBuf); err != nil {
		return err
	}
	n += k
	if d.ml, k, err = d.table(in[n:], modes>>2&3, kindML, d.ml, &d.mlBuf); err != nil {
		return err
	}
	n += k
	return d.execute(nseq, in[n:], lits)
}

// The symbol compression modes of section 3.1.1.3.2.1.
const (
	modePredefined = iota
	modeRLE
	modeFSE
	modeRepeat
)

var (
	maxSymbols = [3]int{kindLL: maxLLSymbol, kindOF: maxOFSymbol, kindML: maxMLSymbol}
	maxLogs    = [3]uint8{kindLL: maxLLLog, kindOF: maxOFLog, kindML: maxMLLog}
	predefs    = [3]*seqTable{kindLL: predefLL, kindOF: predefOF, kindML: predefML}
)

// table reads the table of one kind of symbol for mode from the start of
// b, into own when it is described there. It returns the table to use and
// the bytes read.
func (d *decoder) table(b []byte, mode uint8, kind int, prev, own *seqTable) (*seqTable, int, error) {
	switch mode {
	case modePredefined:
		return predefs[kind], 0, nil
	case modeRLE:
		if len(b) == 0 {
			return nil, 0, corruptf("RLE sequence table without its code")
		}
		if int(b[0]) > maxSymbols[kind] {
			return nil, 0, corruptf("sequence code %d out of range", b[0])
		}
		own.rle(kind, b[0])
		return own, 1, nil
	case modeFSE:
		var norm [256]int16
		nsym, log, n, err := readDist(b, &norm, maxSymbols[kind], maxLogs[kind])
		if err != nil {
			return nil, 0, err
		}
		if err := own.build(norm[:nsym], log, kind); err != nil {
			return nil, 0, err
		}
		return own, n, nil
	}
	if prev == nil {
		return nil, 0, corruptf("repeated sequence table without a previous one")
	}
	return prev, 0, nil
}

// appendLiterals copies a block's last literals to the output.
func (d *decoder) appendLiterals(lits []byte) error {
	if len(lits) > d.bm {
		return corruptf("block output larger than %d bytes", d.bm)
	}
	d.w += copy(d.buf[d.w:], lits)
	return nil
}
