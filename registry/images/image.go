package images

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/skiffoci/skiff/manifest"
)

// Image is one platform's image: its manifest and config, parsed, and
// where to read each of its blobs. The zero value is not usable: call
// Open or Scratch. An Image is immutable and safe for concurrent use.
type Image struct {
	edit  record
	base  manifest.Fetcher                     // where the original blobs are; nil for Scratch
	added map[manifest.Digest]Layer            // new layers, by digest
	from  map[manifest.Digest]manifest.Fetcher // blobs held by another store than base (a new base's layers)
	orig  *manifest.Document                   // the manifest as opened, while unedited
	mu    sync.Mutex                           // guards the encoding below
	enc   *encoded
}

// encoded is an Image's config and manifest as bytes.
type encoded struct {
	config []byte
	doc    *manifest.Document
	err    error
}

// Layer is the content of a new layer: a *tarball.Layer (from
// tarball.LayerFromDir, LayerFromFiles or LayerFromTar) is one.
type Layer interface {
	// Describe returns the layer's descriptor and diffID (the digest of
	// its uncompressed tar).
	Describe() (manifest.Descriptor, manifest.Digest)
	// Open returns the layer's bytes, verified as they are read.
	Open() (io.ReadCloser, error)
}

// OpenDescriptor reads the image whose manifest desc describes from src,
// with its config.
func OpenDescriptor(ctx context.Context, src manifest.Fetcher, desc manifest.Descriptor) (*Image, error) {
	doc, err := manifest.FetchDocument(ctx, src, desc)
	if err != nil {
		return nil, err
	}
	return OpenDocument(ctx, src, doc)
}

// OpenDocument reads the config of the image whose manifest, fetched from
// src, is doc. The image keeps a copy of doc: changing doc afterwards
// changes nothing of it.
func OpenDocument(ctx context.Context, src manifest.Fetcher, doc *manifest.Document) (*Image, error) {
	if doc.Index != nil {
		return nil, fmt.Errorf("images: %s is an index: open it with OpenIndex", doc.Digest)
	}
	doc = doc.Clone()
	cfg, raw, err := manifest.FetchConfig(ctx, src, doc.Manifest.Config)
	if err != nil {
		return nil, err
	}
	im := &Image{base: src, orig: doc, edit: record{Manifest: *doc.Manifest, Config: *cfg, ConfigRaw: raw}}
	im.enc = &encoded{config: raw, doc: doc}
	return im, nil
}

// Scratch returns an empty image for platform p: an OCI manifest with no
// layers, to append the first one to.
func Scratch(p manifest.Platform) *Image {
	return &Image{edit: record{
		Manifest: manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest,
			Config: manifest.Descriptor{MediaType: manifest.MediaTypeOCIConfig}, Layers: []manifest.Descriptor{}},
		Config: manifest.Config{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSVersion: p.OSVersion,
			RootFS: manifest.RootFS{Type: "layers", DiffIDs: []manifest.Digest{}}},
	}}
}

// encode returns the image's config and manifest as bytes, encoding them
// once: an image not edited since Open keeps the exact bytes it had.
func (im *Image) encode() *encoded {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.enc == nil {
		e := &encoded{}
		e.config, e.doc, e.err = im.edit.Encode()
		im.enc = e
	}
	return im.enc
}

// Manifest returns a copy of the image's manifest: changing it changes
// nothing of the image.
func (im *Image) Manifest() (*manifest.Document, error) {
	e := im.encode()
	return e.doc.Clone(), e.err
}

// RawConfig returns a copy of the image's config as bytes.
func (im *Image) RawConfig() ([]byte, error) {
	e := im.encode()
	return bytes.Clone(e.config), e.err
}

// Descriptor returns the descriptor of the image's manifest.
func (im *Image) Descriptor() (manifest.Descriptor, error) {
	doc, err := im.Manifest()
	if err != nil {
		return manifest.Descriptor{}, err
	}
	return doc.Descriptor(), nil
}

// Config returns a copy of the image's parsed config.
func (im *Image) Config() manifest.Config {
	return im.edit.Config.Clone()
}

// Layers returns a copy of the descriptors of the image's layers, bottom
// first.
func (im *Image) Layers() []manifest.Descriptor {
	return cloneDescriptors(im.edit.Manifest.Layers)
}

// Platform returns the platform the config names: OS, architecture,
// variant, OS version and OS features.
func (im *Image) Platform() manifest.Platform {
	p := im.edit.Config.Platform()
	p.OSFeatures = slices.Clone(p.OSFeatures)
	return p
}
