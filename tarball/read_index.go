package tarball

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// Bounds on the tar index built when a tarball is opened.
const (
	maxTarEntries   = 100_000  // entries of any type
	maxTarNameBytes = 16 << 20 // sum of the lengths of names and link targets
)

// tarEntry is what the index keeps of one tar entry.
type tarEntry struct {
	name     string // clean, root-relative
	typ      byte   // tar.TypeReg, TypeSymlink, TypeLink or TypeDir
	linkname string
	offset   int64 // where the content starts in the uncompressed tar
	size     int64
}

// section returns a reader of the entry's content.
func (e *tarEntry) section(ra io.ReaderAt) *io.SectionReader {
	return io.NewSectionReader(ra, e.offset, e.size)
}

// indexTar reads tar headers from r up to the end-of-archive marker and
// returns the entries by name; pos reports how far r has been read. Entry
// contents are skipped (by Seek when r can). Whatever follows the marker is
// never read. Entries of other types, sparse files and names that climb out
// of the archive are left out; a name seen twice keeps its last entry, as
// extraction would.
func indexTar(r io.Reader, pos func() int64) (map[string]*tarEntry, error) {
	tr := tar.NewReader(r)
	entries := make(map[string]*tarEntry)
	nameBytes := 0
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return entries, nil
		}
		if err != nil {
			return nil, fmt.Errorf("tarball: reading tar entry %d: %w", n, err)
		}
		if n >= maxTarEntries {
			return nil, fmt.Errorf("tarball: more than %d tar entries", maxTarEntries)
		}
		if nameBytes += len(h.Name) + len(h.Linkname); nameBytes > maxTarNameBytes {
			return nil, fmt.Errorf("tarball: tar entry names exceed %d bytes", maxTarNameBytes)
		}
		if e := newTarEntry(h, pos()); e != nil {
			entries[e.name] = e
		}
	}
}

// newTarEntry returns the index entry for h, whose content starts at off,
// or nil when the entry is of no use to a reader of images.
func newTarEntry(h *tar.Header, off int64) *tarEntry {
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeSymlink, tar.TypeLink, tar.TypeDir:
	default:
		return nil
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return nil // the data section is not the file's bytes
		}
	}
	name, err := CleanPath(h.Name)
	if err != nil || name == "." {
		return nil
	}
	e := &tarEntry{name: name, typ: h.Typeflag, linkname: h.Linkname, offset: off}
	if h.Typeflag == tar.TypeReg {
		e.size = h.Size
	}
	return e
}

// indexPlain indexes an uncompressed tar held in ra.
func indexPlain(ra io.ReaderAt, size int64) (map[string]*tarEntry, error) {
	sr := io.NewSectionReader(ra, 0, size)
	return indexTar(sr, func() int64 {
		p, _ := sr.Seek(0, io.SeekCurrent)
		return p
	})
}

// inflateToTemp decompresses a tar compressed with comp ("gzip" or
// "zstd") from ra into a new temporary file, up to the tar's end-of-archive
// marker, indexing it on the way. It returns the file and its index. At
// most opts.MaxUncompressed bytes are written; more is a
// *manifest.LimitError. os.CreateTemp makes the file with O_EXCL, mode 0600
// and a random name, so nothing planted in a shared temporary directory
// is opened; the file is read through the descriptor it returns, never
// opened again by name.
func inflateToTemp(ra io.ReaderAt, size int64, comp string, opts *OpenOptions) (*os.File, map[string]*tarEntry, error) {
	var window int64
	if opts != nil {
		window = opts.MaxZstdWindow
	}
	zr, err := decompress(bufio.NewReaderSize(io.NewSectionReader(ra, 0, size), 1<<16), comp, window)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.CreateTemp(opts.TempDir, "skiff-tarball-*.tar")
	if err != nil {
		return nil, nil, fmt.Errorf("tarball: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	cr := &countingReader{r: zr, w: bw, limit: opts.maxUncompressed()}
	entries, err := indexTar(cr, func() int64 { return cr.n })
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, nil, err
	}
	return f, entries, nil
}

// countingReader copies what it reads from r to w and counts it.
type countingReader struct {
	r     io.Reader
	w     io.Writer
	n     int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		return 0, &manifest.LimitError{What: "decompressed tarball", Limit: c.limit}
	}
	if rest := c.limit - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if _, werr := c.w.Write(p[:n]); werr != nil {
		return n, fmt.Errorf("tarball: writing temporary file: %w", werr)
	}
	return n, err
}

// compressionOf tells, from its first bytes, how an entry is compressed:
// "gzip", "zstd" or "" for none.
func compressionOf(ra io.ReaderAt, e *tarEntry) (string, error) {
	head := make([]byte, min(e.size, 4))
	if _, err := e.section(ra).ReadAt(head, 0); err != nil && len(head) > 0 {
		return "", fmt.Errorf("tarball: reading %q: %w", e.name, err)
	}
	return sniff(head), nil
}

// sniff names the compression whose magic number starts head, or "".
func sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return "gzip"
	case bytes.HasPrefix(head, magicZstd):
		return "zstd"
	}
	return ""
}

// digestOf hashes an entry's content with sha256: a pass over that entry
// alone, for a compressed layer whose digest nothing else records.
func digestOf(ra io.ReaderAt, e *tarEntry) (manifest.Digest, error) {
	d := manifest.NewDigester(manifest.SHA256)
	if _, err := io.Copy(d, e.section(ra)); err != nil {
		return "", fmt.Errorf("tarball: reading %q: %w", e.name, err)
	}
	return d.Digest(), nil
}
