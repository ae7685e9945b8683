package images

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/skiffoci/skiff/manifest"
)

var (
	_ manifest.Fetcher      = (*Image)(nil)
	_ manifest.RangeFetcher = (*Image)(nil)
)

// Fetch returns the content desc names, verified as it streams: the
// manifest and config from memory, a new layer from its file, anything
// else from the store the image was opened from.
func (im *Image) Fetch(ctx context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	if b, ok := im.inMemory(desc); ok {
		return manifest.VerifyReadCloser(io.NopCloser(bytes.NewReader(b)), desc), nil
	}
	if l, ok := im.added[desc.Digest]; ok {
		return l.Open()
	}
	src := im.source(desc.Digest)
	if src == nil {
		return nil, fmt.Errorf("images: %s: %w", desc.Digest, manifest.ErrNotFound)
	}
	return src.Fetch(ctx, desc)
}

// source returns the store that holds blob d of the image (nil for a
// Scratch image's): where the image was opened, unless d came from
// another one (a new base's layer, after Rebase).
func (im *Image) source(d manifest.Digest) manifest.Fetcher {
	if f, ok := im.from[d]; ok {
		return f
	}
	return im.base
}

// FetchFrom returns the bytes of desc's content from offset on, for a
// resumed transfer (manifest.RangeFetcher).
func (im *Image) FetchFrom(ctx context.Context, desc manifest.Descriptor, offset int64) (io.ReadCloser, error) {
	src := im.source(desc.Digest)
	if _, ok := im.inMemory(desc); ok || im.added[desc.Digest] != nil || src == nil {
		return manifest.FetchFrom(ctx, fetchOnly{im}, desc, offset)
	}
	return manifest.FetchFrom(ctx, src, desc, offset)
}

// fetchOnly hides FetchFrom, so manifest.FetchFrom falls back to Fetch.
type fetchOnly struct{ im *Image }

func (f fetchOnly) Fetch(ctx context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	return f.im.Fetch(ctx, desc)
}

// inMemory returns the config or manifest desc names, if it is one of them.
func (im *Image) inMemory(desc manifest.Descriptor) ([]byte, bool) {
	e := im.encode()
	switch {
	case e.err != nil:
		return nil, false
	case desc.Digest == e.doc.Digest:
		return e.doc.Raw, true
	case desc.Digest == e.doc.Manifest.Config.Digest:
		return e.config, true
	}
	return nil, false
}
