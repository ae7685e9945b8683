package tarball

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/skiffoci/skiff/internal/pgzip"
	"github.com/skiffoci/skiff/internal/zstd"
	"github.com/skiffoci/skiff/manifest"
)

// ErrUnsupportedCompression is wrapped by the error for a layer compressed
// with something other than gzip or zstd (xz, bzip2).
var ErrUnsupportedCompression = errors.New("unsupported layer compression")

// DefaultMaxUncompressed is the decompression budget used when an options
// struct leaves MaxUncompressed at zero: 64 GiB.
const DefaultMaxUncompressed int64 = 64 << 30

// newLayerGzip returns the compressor for layer bytes written to w. It is
// the one place a gzip writer is made. It compresses on every core
// (internal/pgzip), in blocks of pgzip.DefaultBlockSize, so the output
// depends only on the bytes and the level; a layer that fits in one block
// is compressed exactly as compress/gzip would. The header has no name, a
// zero mtime and OS byte 255 ("unknown"), the same on every platform.
func newLayerGzip(w io.Writer, level int) (io.WriteCloser, error) {
	if level < gzip.HuffmanOnly || level > gzip.BestCompression {
		return nil, fmt.Errorf("tarball: gzip: invalid compression level: %d", level)
	}
	return pgzip.NewWriter(w, &pgzip.Options{Level: level}), nil
}

// Magic numbers at the start of compressed streams.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicBzip2 = []byte{'B', 'Z', 'h'}
)

// sniffCompression wraps r in a buffered reader and names the compression
// its magic number shows: "gzip", "zstd", or "" for a plain tar. xz and
// bzip2 are an error wrapping ErrUnsupportedCompression.
func sniffCompression(r io.Reader) (*bufio.Reader, string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(len(magicXz))
	if err != nil && err != io.EOF {
		return nil, "", fmt.Errorf("tarball: reading layer: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, magicXz):
		return nil, "", fmt.Errorf("tarball: %w: xz", ErrUnsupportedCompression)
	case bytes.HasPrefix(head, magicBzip2):
		return nil, "", fmt.Errorf("tarball: %w: bzip2", ErrUnsupportedCompression)
	}
	return br, sniff(head), nil
}

// decompress returns the stream inside r, compressed as comp names it. A
// zstd frame may ask for a window (memory) of at most maxWindow bytes;
// zero means zstd's default, 128 MiB, the limit of the zstd command too.
func decompress(r *bufio.Reader, comp string, maxWindow int64) (io.Reader, error) {
	switch comp {
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("tarball: gzip: %w", err)
		}
		return zr, nil
	case "zstd":
		return zstd.NewReader(r, &zstd.Options{MaxWindow: maxWindow}), nil
	}
	return r, nil
}

// openLayerStream returns the tar stream inside r, gzip, zstd or plain, by
// content.
func openLayerStream(r io.Reader, maxWindow int64) (io.Reader, error) {
	br, comp, err := sniffCompression(r)
	if err != nil {
		return nil, err
	}
	return decompress(br, comp, maxWindow)
}

// byteBudget caps the bytes read through it, across every reader it wraps: the
// defence against a small gzip that inflates without end (RELIABILITY #11).
type byteBudget struct {
	limit, left int64
	what        string
}

func newByteBudget(limit int64, what string) *byteBudget {
	if limit <= 0 {
		limit = DefaultMaxUncompressed
	}
	return &byteBudget{limit: limit, left: limit, what: what}
}

func (b *byteBudget) exceeded() error {
	return fmt.Errorf("tarball: %w", &manifest.LimitError{What: b.what, Limit: b.limit})
}

// take charges n bytes that did not come through a reader, such as the
// expanded size of a sparse file.
func (b *byteBudget) take(n int64) error {
	if n > b.left {
		b.left = -1
		return b.exceeded()
	}
	b.left -= n
	return nil
}

// reader returns r with every byte it yields charged to b.
func (b *byteBudget) reader(r io.Reader) io.Reader { return &byteBudgetReader{r: r, b: b} }

type byteBudgetReader struct {
	r io.Reader
	b *byteBudget
}

func (br *byteBudgetReader) Read(p []byte) (int, error) {
	b := br.b
	if b.left < 0 {
		return 0, b.exceeded()
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := br.r.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = -1
		return n, b.exceeded()
	}
	b.left -= int64(n)
	return n, err
}
