package tarball

import (
	"archive/tar"
	"bytes"
	"time"
)

// Sizes of the tar format (POSIX.1-1988 ustar, PAX when a name needs it).
const (
	blockSize   = 512           // headers and content padding come in blocks
	trailerSize = 2 * blockSize // the end-of-archive marker: two zero blocks
)

// zeroBlocks is padding and the end-of-archive marker.
var zeroBlocks [trailerSize]byte

// padding returns how many zero bytes follow n bytes of content.
func padding(n int64) int64 { return -n & (blockSize - 1) }

// CalculateSize returns the exact size in bytes of the tarball Write writes
// for images and opts, without fetching anything: every header, content,
// padding and the end-of-archive marker.
func CalculateSize(images []Entry, opts *WriteOptions) (int64, error) {
	p, err := NewPlan(images, opts)
	if err != nil {
		return 0, err
	}
	return p.Size, nil
}

// epoch is the modification time of every entry skiff writes.
var epoch = time.Unix(0, 0)

// header returns the deterministic tar header of a file (or, when dir is
// true, a directory) skiff writes: epoch mtime, owner 0:0, no user or
// group name, mode 0644 (0755 for directories).
func header(name string, size int64, dir bool) *tar.Header {
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: epoch}
	if dir {
		h.Typeflag, h.Mode = tar.TypeDir, 0o755
	}
	return h
}

// encodeHeader returns the bytes archive/tar writes for h: one ustar block,
// or more with a PAX header for a name longer than ustar allows.
func encodeHeader(h *tar.Header) ([]byte, error) {
	var buf bytes.Buffer
	if err := tar.NewWriter(&buf).WriteHeader(h); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
