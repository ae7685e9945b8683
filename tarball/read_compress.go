package tarball

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/skiffoci/skiff/manifest"
)

// Compression reports what CompressLayers did: how many plain-tar layers
// it compressed, and their bytes before and after.
type Compression struct {
	Layers        int
	Before, After int64
}

// CompressLayers returns the image desc names with every plain-tar layer
// gzip-compressed, as docker push, crane push and skopeo copy send the
// layers of `docker save`, `podman save` and skopeo's docker-archive:.
// Layer media types become their gzip counterparts (Docker's
// rootfs.diff.tar.gzip, OCI's tar+gzip); the config and its diffIDs stay,
// but the manifests (and an index above them) are new documents with new
// digests, which the Reader keeps and serves. An image without plain-tar
// layers is returned as it is.
//
// Each such layer is compressed once here, to learn its digest and size,
// and again each time Fetch serves it: nothing is kept, so memory does not
// grow with the layer, and the output depends only on the layer's bytes
// (the parallel gzip of newLayerGzip), so both passes agree. The layer's
// bytes are checked against its diffID on the way.
func (r *Reader) CompressLayers(ctx context.Context, desc manifest.Descriptor) (manifest.Descriptor, Compression, error) {
	c := &compressor{r: r, done: map[manifest.Digest]manifest.Descriptor{}}
	out, err := c.document(ctx, desc, 0)
	return out, c.report, err
}

// compressor rewrites the documents under one root; done maps each plain
// layer compressed so far to its compressed descriptor.
type compressor struct {
	r      *Reader
	done   map[manifest.Digest]manifest.Descriptor
	report Compression
}

// document returns desc, or the descriptor of its rewritten document when
// something under it was compressed.
func (c *compressor) document(ctx context.Context, desc manifest.Descriptor, depth int) (manifest.Descriptor, error) {
	if depth > manifest.MaxDepth {
		return desc, fmt.Errorf("tarball: index nesting deeper than %d at %s", manifest.MaxDepth, desc.Digest)
	}
	doc, err := manifest.FetchDocument(ctx, c.r, desc)
	if err != nil {
		return desc, err
	}
	var out *manifest.Document
	if doc.Index != nil {
		out, err = c.index(ctx, doc, depth)
	} else {
		out, err = c.manifest(ctx, desc, doc)
	}
	if err != nil || out == nil {
		return desc, err
	}
	c.r.add(out.Digest, blobSource{data: out.Raw})
	return out.Descriptor(), nil
}

// index returns doc with the entries whose documents changed replaced,
// or nil when none did.
func (c *compressor) index(ctx context.Context, doc *manifest.Document, depth int) (*manifest.Document, error) {
	idx := *doc.Index
	idx.Manifests = slices.Clone(idx.Manifests)
	changed := false
	for i, child := range idx.Manifests {
		if !manifest.IsManifest(child.MediaType) && !manifest.IsIndex(child.MediaType) {
			continue
		}
		if _, err := c.r.lookup(child); err != nil {
			continue // a platform the tarball lacks: see Loadable
		}
		nd, err := c.document(ctx, child, depth+1)
		if err != nil {
			return nil, err
		}
		if nd.Digest != child.Digest {
			idx.Manifests[i].Digest, idx.Manifests[i].Size = nd.Digest, nd.Size
			changed = true
		}
	}
	if !changed {
		return nil, nil
	}
	return manifest.Marshal(doc.MediaType, &idx)
}

// manifest returns doc with its plain layers compressed, or nil when it
// has none. A manifest the Reader synthesized is synthesized again, so it
// keeps go-containerregistry's form.
func (c *compressor) manifest(ctx context.Context, desc manifest.Descriptor, doc *manifest.Document) (*manifest.Document, error) {
	m := *doc.Manifest
	m.Layers = slices.Clone(m.Layers)
	changed := false
	for i, l := range m.Layers {
		if l.MediaType != mediaTypeDockerLayerTar && l.MediaType != manifest.MediaTypeOCILayer {
			continue
		}
		nl, err := c.layer(ctx, l)
		if err != nil {
			return nil, err
		}
		m.Layers[i], changed = nl, true
	}
	if !changed {
		return nil, nil
	}
	if src, err := c.r.lookup(desc); err == nil && src.synth {
		return synthesize(m.Config, m.Layers)
	}
	return manifest.Marshal(doc.MediaType, &m)
}

// layer compresses the plain layer l once, checking its bytes against its
// digest (a plain layer's digest is its diffID), and registers where the
// compressed bytes come from.
func (c *compressor) layer(ctx context.Context, l manifest.Descriptor) (manifest.Descriptor, error) {
	if d, ok := c.done[l.Digest]; ok {
		return d, nil
	}
	src, err := c.r.lookup(l)
	if err != nil {
		return l, err
	}
	if src.entry == nil || src.gzip {
		return l, fmt.Errorf("tarball: layer %s is not a tar entry", l.Digest)
	}
	plain := manifest.NewDigester(l.Digest.Algorithm())
	packed := manifest.NewDigester(manifest.SHA256)
	counted := &countWriter{w: packed}
	zw, err := newLayerGzip(counted, gzip.DefaultCompression)
	if err != nil {
		return l, err
	}
	_, err = io.Copy(zw, io.TeeReader(ctxReader{ctx, src.entry.section(c.r.ra)}, plain))
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return l, fmt.Errorf("tarball: compressing layer %s: %w", l.Digest, err)
	}
	if got := plain.Digest(); got != l.Digest {
		return l, fmt.Errorf("tarball: layer %s: %w: its bytes hash to %s", l.Digest, manifest.ErrDigestMismatch, got)
	}
	nl := l
	nl.MediaType, nl.Digest, nl.Size = gzipType(l.MediaType), packed.Digest(), counted.n
	c.r.add(nl.Digest, blobSource{entry: src.entry, gzip: true, gzSize: nl.Size})
	c.done[l.Digest] = nl
	c.report.Layers++
	c.report.Before += l.Size
	c.report.After += nl.Size
	return nl, nil
}

// gzipType is the gzip counterpart of a plain layer type.
func gzipType(mt string) string {
	if mt == manifest.MediaTypeOCILayer {
		return manifest.MediaTypeOCILayerGzip
	}
	return manifest.MediaTypeDockerLayer
}

// gzipFrom returns the gzip compression of plain, from offset on, made
// while it is read. Closing the reader early stops the compression.
func gzipFrom(plain io.Reader, offset int64) (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() {
		zw, err := newLayerGzip(pw, gzip.DefaultCompression)
		if err == nil {
			_, err = io.Copy(zw, plain)
			if cerr := zw.Close(); err == nil {
				err = cerr
			}
		}
		pw.CloseWithError(err)
	}()
	if _, err := io.CopyN(io.Discard, pr, offset); err != nil {
		pr.Close()
		return nil, err
	}
	return pr, nil
}

// countWriter counts what it passes on to w.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
