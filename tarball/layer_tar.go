package tarball

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/skiffoci/skiff/manifest"
)

// WriteTarLayer writes the tar stream r to w as a layer and returns the
// layer's descriptor and diffID, computed in the same pass.
//
// The input is recognised by content. A plain tar is copied byte for byte
// into the layer, compressed on the way when the media type asks for gzip.
// A gzip stream bound for a gzip media type passes through unchanged: the
// descriptor names exactly the bytes given, and the diffID is computed by
// decompressing them as they stream, within opts.MaxUncompressed. A gzip
// stream bound for an uncompressed layer is decompressed. zstd, xz and
// bzip2 are refused with an error wrapping ErrUnsupportedCompression.
// Entry names are not inspected; the stream is taken as it is.
func WriteTarLayer(ctx context.Context, w io.Writer, r io.Reader, opts *LayerOptions) (manifest.Descriptor, manifest.Digest, error) {
	var o LayerOptions
	if opts != nil {
		o = *opts
	}
	compressed, err := o.compressed()
	if err != nil {
		return manifest.Descriptor{}, "", err
	}
	br, isGzip, err := sniffGzip(cancelReader{ctx: ctx, r: r})
	if err != nil {
		return manifest.Descriptor{}, "", err
	}
	if _, err := br.Peek(1); err == io.EOF {
		return manifest.Descriptor{}, "", errors.New("tarball: empty tar stream")
	}
	if isGzip && compressed {
		return passGzip(w, br, &o)
	}
	return recompress(w, br, isGzip, &o)
}

// passGzip copies a gzip stream to w unchanged, decompressing a copy of it
// to compute the diffID.
func passGzip(w io.Writer, br *bufio.Reader, o *LayerOptions) (manifest.Descriptor, manifest.Digest, error) {
	out := newCountingDigester(w)
	tee := bufio.NewReader(io.TeeReader(br, out))
	zr, err := gzip.NewReader(tee)
	if err != nil {
		return manifest.Descriptor{}, "", fmt.Errorf("tarball: tar stream: %w", err)
	}
	diff := manifest.NewDigester(manifest.SHA256)
	b := newByteBudget(o.MaxUncompressed, "uncompressed layer")
	if _, err := io.Copy(diff, b.reader(zr)); err != nil {
		return manifest.Descriptor{}, "", fmt.Errorf("tarball: tar stream: %w", err)
	}
	// gzip.Reader reads to the end of its input; this copies any remainder
	// its buffering left behind.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return manifest.Descriptor{}, "", fmt.Errorf("tarball: tar stream: %w", err)
	}
	desc := manifest.Descriptor{MediaType: o.mediaType(), Digest: out.d.Digest(), Size: out.n}
	return desc, diff.Digest(), nil
}

// recompress writes a plain tar, or the tar inside a gzip stream, to w as
// the media type asks.
func recompress(w io.Writer, br *bufio.Reader, isGzip bool, o *LayerOptions) (manifest.Descriptor, manifest.Digest, error) {
	var in io.Reader = br
	if isGzip {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return manifest.Descriptor{}, "", fmt.Errorf("tarball: tar stream: %w", err)
		}
		in = newByteBudget(o.MaxUncompressed, "uncompressed layer").reader(zr)
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

// cancelReader fails reads once ctx is done.
type cancelReader struct {
	ctx context.Context
	r   io.Reader
}

func (c cancelReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
