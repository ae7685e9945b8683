package zstd_test

import (
	"archive/tar"
	"bufio"
	"io"
	"math/rand/v2"
	"strconv"
)

// layerLike writes about n bytes shaped like a container layer: a tar of
// source-like text, machine-code-like binaries and a few incompressible
// files (already-compressed assets). The same seed gives the same bytes.
func layerLike(w io.Writer, n int64, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	g := &generator{r: r, words: vocabulary(r, 3000), ops: opcodes(r, 400)}
	bw := bufio.NewWriterSize(w, 1<<20)
	tw := tar.NewWriter(bw)
	var written int64
	for i := 0; written < n; i++ {
		size := int64(512 + r.IntN(1<<20))
		if r.IntN(8) == 0 {
			size = int64(r.IntN(8 << 20))
		}
		size = min(size, n-written)
		kind := r.IntN(20)
		name := "usr/share/file" + strconv.Itoa(i)
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg, Uname: "root", Gname: "root"}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		var err error
		switch {
		case kind < 10:
			err = g.text(tw, size)
		case kind < 19:
			err = g.binary(tw, size)
		default:
			err = g.random(tw, size)
		}
		if err != nil {
			return err
		}
		written += size + 512
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

type generator struct {
	r     *rand.Rand
	words [][]byte
	ops   [][]byte
	buf   []byte
}

func vocabulary(r *rand.Rand, n int) [][]byte {
	const letters = "etaoinshrdlucmfwypvbgkjqxz_"
	words := make([][]byte, n)
	for i := range words {
		w := make([]byte, 2+r.IntN(9))
		for j := range w {
			// Skewed towards common letters, as in real text.
			w[j] = letters[min(r.IntN(len(letters)), r.IntN(len(letters)))]
		}
		words[i] = w
	}
	return words
}

func opcodes(r *rand.Rand, n int) [][]byte {
	ops := make([][]byte, n)
	for i := range ops {
		op := make([]byte, 1+r.IntN(7))
		for j := range op {
			op[j] = byte(r.Uint32())
		}
		ops[i] = op
	}
	return ops
}

// emit writes g.buf in chunks of exactly size bytes in total, refilled by fill.
func (g *generator) emit(w io.Writer, size int64, fill func()) error {
	for size > 0 {
		g.buf = g.buf[:0]
		for len(g.buf) < 64<<10 {
			fill()
		}
		k := min(int64(len(g.buf)), size)
		if _, err := w.Write(g.buf[:k]); err != nil {
			return err
		}
		size -= k
	}
	return nil
}

// text is lines of words, Zipf-like: a few words are very common, and
// lines often repeat one seen shortly before.
func (g *generator) text(w io.Writer, size int64) error {
	indent := 0
	var recent [64][]byte
	return g.emit(w, size, func() {
		if g.r.IntN(3) == 0 {
			if l := recent[g.r.IntN(len(recent))]; l != nil {
				g.buf = append(g.buf, l...)
				return
			}
		}
		start := len(g.buf)
		defer func() { recent[g.r.IntN(len(recent))] = append([]byte(nil), g.buf[start:]...) }()
		for i := 0; i < indent; i++ {
			g.buf = append(g.buf, '\t')
		}
		for k := 3 + g.r.IntN(8); k > 0; k-- {
			i := g.r.IntN(len(g.words))
			i = i * i / len(g.words) // skew towards the first words
			g.buf = append(g.buf, g.words[i]...)
			g.buf = append(g.buf, " (){};,.=:"[g.r.IntN(10)])
		}
		g.buf = append(g.buf, '\n')
		indent = max(0, min(6, indent+g.r.IntN(3)-1))
	})
}

// binary is opcodes with mostly small operands, often replaying a recent
// run of code, and small tables of numbers.
func (g *generator) binary(w io.Writer, size int64) error {
	var recent [32][]byte
	return g.emit(w, size, func() {
		switch g.r.IntN(16) {
		case 0:
			for k := 0; k < 32; k++ {
				v := uint32(g.r.IntN(1 << (4 * (1 + g.r.IntN(4)))))
				g.buf = append(g.buf, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
			}
			return
		case 1, 2, 3, 4:
			if run := recent[g.r.IntN(len(recent))]; run != nil {
				g.buf = append(g.buf, run...)
				return
			}
		}
		start := len(g.buf)
		for k := 4 + g.r.IntN(12); k > 0; k-- {
			i := g.r.IntN(len(g.ops))
			i = i * i / len(g.ops)
			g.buf = append(g.buf, g.ops[i]...)
			if g.r.IntN(3) == 0 {
				g.buf = append(g.buf, byte(g.r.IntN(64)), 0)
			}
		}
		recent[g.r.IntN(len(recent))] = append([]byte(nil), g.buf[start:]...)
	})
}

// random is incompressible.
func (g *generator) random(w io.Writer, size int64) error {
	return g.emit(w, size, func() {
		for k := 0; k < 1024; k++ {
			v := g.r.Uint64()
			g.buf = append(g.buf, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
		}
	})
}
