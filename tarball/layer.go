package tarball

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// LayerOptions configure how a layer is built. The zero value, or a nil
// pointer, builds a gzip-compressed OCI layer of files owned by root with
// zero modification times.
type LayerOptions struct {
	// MediaType is the layer's media type: manifest.MediaTypeOCILayerGzip
	// (the default when empty), manifest.MediaTypeDockerLayer, or
	// manifest.MediaTypeOCILayer for an uncompressed layer, whose digest is
	// its diffID. WriteTarLayer, LayerFromTar and LayerFromFile also take
	// manifest.MediaTypeOCILayerZstd, for a tar stream already
	// zstd-compressed.
	MediaType string

	// Level is the gzip compression level, as in compress/gzip. Zero means
	// gzip.DefaultCompression; for no compression at all, choose the
	// uncompressed media type instead.
	Level int

	// KeepOwners keeps the uid, gid, user and group names of files read
	// from a directory. By default they are 0, 0, "" and "".
	KeepOwners bool

	// KeepTimes keeps the modification times of files read from a
	// directory. Otherwise every entry gets ModTime, or the Unix epoch when
	// ModTime is zero. (The CLI reads SOURCE_DATE_EPOCH into ModTime.)
	KeepTimes bool
	ModTime   time.Time

	// MaxUncompressed caps the bytes decompressed from a gzip or zstd tar
	// stream while its diffID is computed. Zero means DefaultMaxUncompressed.
	MaxUncompressed int64

	// MaxZstdWindow bounds the window (memory) a zstd tar stream may ask
	// for; zero means 128 MiB, the zstd command's own limit.
	MaxZstdWindow int64

	// TempDir is where LayerFromDir, LayerFromFiles and LayerFromTar put the
	// layer file; "" means os.TempDir(). LayerFromFile writes no file.
	TempDir string

	// Prefix, if set, puts what LayerFromDir and AddDir read from a
	// directory under that slash-separated relative name, the directory
	// itself first ("conf/", then "conf/app.toml"), and writes files that
	// share an inode whole each time rather than as hard links: a
	// directory packed as oras packs one, for `oras pull` to unpack
	// (package registry/artifact). "" and "." mean no prefix.
	Prefix string
}

// compressed reports whether the media type calls for gzip, or an error
// for a media type skiff cannot produce.
func (o *LayerOptions) compressed() (bool, error) {
	switch o.mediaType() {
	case manifest.MediaTypeOCILayerGzip, manifest.MediaTypeDockerLayer:
		return true, nil
	case manifest.MediaTypeOCILayer:
		return false, nil
	}
	return false, fmt.Errorf("tarball: cannot build a layer of media type %q", quoteTrim(o.MediaType, 100))
}

func (o *LayerOptions) mediaType() string {
	if o.MediaType == "" {
		return manifest.MediaTypeOCILayerGzip
	}
	return o.MediaType
}

func (o *LayerOptions) level() int {
	if o.Level == 0 {
		return gzip.DefaultCompression
	}
	return o.Level
}

// modTime is the time given to an entry whose own time is not kept.
func (o *LayerOptions) modTime() time.Time {
	if o.ModTime.IsZero() {
		return time.Unix(0, 0)
	}
	return o.ModTime
}

// A LayerWriter writes a layer to an io.Writer the way archive/tar's Writer
// writes an archive, compressing it on the way. In the same pass it
// computes the layer's diffID (the digest of the uncompressed tar) and the
// digest and size of the bytes written, which Descriptor and DiffID report
// after Close. The zero value is not usable; call NewLayerWriter.
type LayerWriter struct {
	opts LayerOptions
	sink *layerSink
	tw   *tar.Writer
	err  error // sticky: a bad option or a write failure
	done bool
}

// NewLayerWriter returns a LayerWriter that writes the layer to w. A bad
// option is reported by the first call to WriteHeader, Write or Close.
func NewLayerWriter(w io.Writer, opts *LayerOptions) *LayerWriter {
	lw := &LayerWriter{}
	if opts != nil {
		lw.opts = *opts
	}
	lw.sink, lw.err = newLayerSink(w, &lw.opts)
	if lw.err == nil {
		lw.tw = tar.NewWriter(lw.sink)
	}
	return lw
}

// WriteHeader writes hdr and prepares to accept the entry's contents, as
// tar.Writer.WriteHeader does. The header is written as given; AddDir and
// AddFiles normalise theirs first.
func (lw *LayerWriter) WriteHeader(hdr *tar.Header) error {
	if lw.err != nil {
		return lw.err
	}
	if err := lw.tw.WriteHeader(hdr); err != nil {
		return lw.fail(err)
	}
	return nil
}

// Write writes to the current entry, as tar.Writer.Write does.
func (lw *LayerWriter) Write(p []byte) (int, error) {
	if lw.err != nil {
		return 0, lw.err
	}
	n, err := lw.tw.Write(p)
	if err != nil {
		return n, lw.fail(err)
	}
	return n, nil
}

// Close writes the tar end-of-archive marker and flushes the compressor. It
// does not close the underlying writer.
func (lw *LayerWriter) Close() error {
	if lw.err != nil || lw.done {
		return lw.err
	}
	if err := lw.tw.Close(); err != nil {
		return lw.fail(err)
	}
	if err := lw.sink.Close(); err != nil {
		return lw.fail(err)
	}
	lw.done = true
	return nil
}

func (lw *LayerWriter) fail(err error) error {
	lw.err = fmt.Errorf("tarball: writing layer: %w", err)
	return lw.err
}

// Descriptor returns the media type, digest and size of the bytes written.
// Before Close has succeeded it returns the zero Descriptor, which fails
// Validate.
func (lw *LayerWriter) Descriptor() manifest.Descriptor {
	if !lw.done {
		return manifest.Descriptor{}
	}
	return lw.sink.descriptor(lw.opts.mediaType())
}

// DiffID returns the digest of the uncompressed tar. Before Close has
// succeeded it returns "".
func (lw *LayerWriter) DiffID() manifest.Digest {
	if !lw.done {
		return ""
	}
	return lw.sink.diff.Digest()
}

// layerSink takes a tar stream, hashes it for the diffID, and writes it,
// compressed or not, to the destination through a digester and a counter.
type layerSink struct {
	diff *manifest.Digester
	out  *countingDigester // what reaches the destination
	gz   io.WriteCloser    // nil for an uncompressed layer
}

func newLayerSink(w io.Writer, opts *LayerOptions) (*layerSink, error) {
	compressed, err := opts.compressed()
	if err != nil {
		return nil, err
	}
	s := &layerSink{diff: manifest.NewDigester(manifest.SHA256), out: newCountingDigester(w)}
	if compressed {
		s.gz, err = newLayerGzip(s.out, opts.level())
	}
	return s, err
}

func (s *layerSink) Write(p []byte) (int, error) {
	s.diff.Write(p)
	if s.gz != nil {
		return s.gz.Write(p)
	}
	return s.out.Write(p)
}

// Close flushes the compressor; the destination stays open.
func (s *layerSink) Close() error {
	if s.gz != nil {
		return s.gz.Close()
	}
	return nil
}

func (s *layerSink) descriptor(mediaType string) manifest.Descriptor {
	return manifest.Descriptor{MediaType: mediaType, Digest: s.out.d.Digest(), Size: s.out.n}
}

// countingDigester writes to w, and digests and counts what w accepted.
type countingDigester struct {
	w io.Writer
	d *manifest.Digester
	n int64
}

func newCountingDigester(w io.Writer) *countingDigester {
	return &countingDigester{w: w, d: manifest.NewDigester(manifest.SHA256)}
}

func (c *countingDigester) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.d.Write(p[:n])
	c.n += int64(n)
	return n, err
}
