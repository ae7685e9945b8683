package tarball

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/skiffoci/skiff/internal/iobuf"
	"github.com/skiffoci/skiff/manifest"
)

// WriteTarLayer writes the tar stream r to w as a layer and returns the
// layer's descriptor and diffID, computed in the same pass.
//
// The input is recognised by content. A plain tar is copied byte for byte
// into the layer, compressed on the way when the media type asks for gzip.
// A gzip stream bound for a gzip media type passes through unchanged: the
// descriptor names exactly the bytes given, and the diffID is computed by
// decompressing them as they stream, within opts.MaxUncompressed. A zstd
// stream passes through in the same way whenever the media type asks for
// compression (gzip or manifest.MediaTypeOCILayerZstd), and the
// descriptor's media type is then manifest.MediaTypeOCILayerZstd; skiff
// never compresses with zstd itself. A gzip or zstd stream bound for an
// uncompressed layer is decompressed. xz and bzip2 are refused with an
// error wrapping ErrUnsupportedCompression. Entry names are not
// inspected; the stream is taken as it is.
func WriteTarLayer(ctx context.Context, w io.Writer, r io.Reader, opts *LayerOptions) (manifest.Descriptor, manifest.Digest, error) {
	var o LayerOptions
	if opts != nil {
		o = *opts
	}
	wantZstd := o.mediaType() == manifest.MediaTypeOCILayerZstd
	compressed := wantZstd
	if !wantZstd {
		var err error
		if compressed, err = o.compressed(); err != nil {
			return manifest.Descriptor{}, "", err
		}
	}
	br, comp, err := sniffCompression(iobuf.ContextReader(ctx, r))
	if err != nil {
		return manifest.Descriptor{}, "", err
	}
	if _, err := br.Peek(1); err == io.EOF {
		return manifest.Descriptor{}, "", errors.New("tarball: empty tar stream")
	}
	switch {
	case comp == "zstd" && compressed:
		return passCompressed(w, br, comp, manifest.MediaTypeOCILayerZstd, &o)
	case wantZstd:
		return manifest.Descriptor{}, "", errors.New("tarball: a zstd layer needs a zstd-compressed tar stream: skiff does not compress with zstd")
	case comp == "gzip" && compressed:
		return passCompressed(w, br, comp, o.mediaType(), &o)
	}
	return recompress(w, br, comp, &o)
}

// passCompressed copies a gzip or zstd stream to w unchanged,
// decompressing a copy of it to compute the diffID.
func passCompressed(w io.Writer, br *bufio.Reader, comp, mediaType string, o *LayerOptions) (manifest.Descriptor, manifest.Digest, error) {
	out := newCountingDigester(w)
	tee := bufio.NewReader(io.TeeReader(br, out))
	zr, err := decompress(tee, comp, o.MaxZstdWindow)
	if err != nil {
		return manifest.Descriptor{}, "", fmt.Errorf("tarball: tar stream: %w", err)
	}
	diff := manifest.NewDigester(manifest.SHA256)
	b := newByteBudget(o.MaxUncompressed, "uncompressed layer")
	if _, err := io.Copy(diff, b.reader(zr)); err != nil {
		return manifest.Descriptor{}, "", fmt.Errorf("tarball: tar stream: %w", err)
	}
	// The decompressors read to the end of their input; this copies any
	// remainder their buffering left behind.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return manifest.Descriptor{}, "", fmt.Errorf("tarball: tar stream: %w", err)
	}
	desc := manifest.Descriptor{MediaType: mediaType, Digest: out.d.Digest(), Size: out.n}
	return desc, diff.Digest(), nil
}

// recompress writes a plain tar, or the tar inside a gzip or zstd stream,
// to w as the media type asks.
func recompress(w io.Writer, br *bufio.Reader, comp string, o *LayerOptions) (manifest.Descriptor, manifest.Digest, error) {
	in, err := decompress(br, comp, o.MaxZstdWindow)
	if err != nil {
		return manifest.Descriptor{}, "", fmt.Errorf("tarball: tar stream: %w", err)
	}
	if comp != "" {
		in = newByteBudget(o.MaxUncompressed, "uncompressed layer").reader(in)
	}
	sink, err := newLayerSink(w, o)
	if err != nil {
		return manifest.Descriptor{}, "", err
	}
	if _, err := io.Copy(sink, in); err != nil {
		return manifest.Descriptor{}, "", fmt.Errorf("tarball: tar stream: %w", err)
	}
	if err := sink.Close(); err != nil {
		return manifest.Descriptor{}, "", fmt.Errorf("tarball: tar stream: %w", err)
	}
	return sink.descriptor(o.mediaType()), sink.diff.Digest(), nil
}
