// Package testimage makes small, reproducible images for skiff's tests
// and benchmarks: real gzip-compressed tar layers, a config whose diffIDs
// match, and manifests or indexes in OCI or Docker media types.
package testimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// Options describe an image.
type Options struct {
	// LayerSizes are the sizes of the file in each layer, uncompressed.
	LayerSizes []int
	// Tars are layers' contents, plain tars (see Tar), put above the
	// LayerSizes ones.
	Tars [][]byte
	// Compressible makes layer contents repetitive instead of random.
	Compressible bool
	// Seed varies the contents; the same options give the same image.
	Seed uint64
	// Uncompressed stores the layers as plain tars; else they are gzip'd
	// at GzipLevel: compress/gzip's numbers, gzip.BestSpeed when 0, and
	// Stored for gzip.NoCompression.
	Uncompressed bool
	GzipLevel    int
	// Platform defaults to linux/amd64.
	Platform manifest.Platform
	// Docker uses Docker's media types instead of OCI's.
	Docker bool
	// Env, Cmd and Created are put into the config.
	Env     []string
	Cmd     []string
	Created *time.Time
	// Base, if set, puts Base's layers under the new ones: images made
	// on one base share those blobs, as images built FROM it do.
	Base *Image
}

// Stored is the Options.GzipLevel of gzip streams of stored blocks
// (gzip.NoCompression, which is 0), whose bytes do not depend on the
// version of compress/flate.
const Stored = -100

// Image is a generated image: every blob, and the manifest.
type Image struct {
	Manifest *manifest.Document
	Config   []byte
	Layers   [][]byte // compressed
	DiffIDs  []manifest.Digest
	Blobs    map[manifest.Digest][]byte // config, layers and manifest
}

// Descriptor returns the manifest's descriptor, with its platform.
func (im *Image) Descriptor() manifest.Descriptor {
	d := im.Manifest.Descriptor()
	var c manifest.Config
	json.Unmarshal(im.Config, &c)
	p := c.Platform()
	d.Platform = &p
	return d
}

// New generates an image.
func New(o Options) (*Image, error) {
	if o.Platform.OS == "" {
		o.Platform = manifest.Platform{OS: "linux", Architecture: "amd64"}
	}
	im := &Image{Blobs: map[manifest.Digest][]byte{}}
	if o.Base != nil {
		im.Layers = append(im.Layers, o.Base.Layers...)
		im.DiffIDs = append(im.DiffIDs, o.Base.DiffIDs...)
	}
	rng := rand.New(rand.NewPCG(o.Seed, uint64(len(o.LayerSizes))))
	tars := make([][]byte, 0, len(o.LayerSizes)+len(o.Tars))
	for i, n := range o.LayerSizes {
		tar, err := makeTar(rng, fmt.Sprintf("layer%d/file", i), n, o.Compressible)
		if err != nil {
			return nil, err
		}
		tars = append(tars, tar)
	}
	for _, tar := range append(tars, o.Tars...) {
		layer, err := compress(tar, o)
		if err != nil {
			return nil, err
		}
		im.Layers = append(im.Layers, layer)
		im.DiffIDs = append(im.DiffIDs, manifest.FromBytes(tar))
	}
	return im, im.finish(o)
}

// compress returns a layer's blob: tar as it is, or gzip'd.
func compress(tar []byte, o Options) ([]byte, error) {
	if o.Uncompressed {
		return tar, nil
	}
	level := o.GzipLevel
	switch level {
	case 0:
		level = gzip.BestSpeed
	case Stored:
		level = gzip.NoCompression
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, level)
	if err != nil {
		return nil, err
	}
	zw.Write(tar)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return gz.Bytes(), nil
}

// layerType is the media type of o's layers: base layers (from
// testimage, gzip'd) keep the gzip type.
func layerType(o Options, base bool) string {
	switch {
	case o.Uncompressed && !base && o.Docker:
		return "application/vnd.docker.image.rootfs.diff.tar"
	case o.Uncompressed && !base:
		return manifest.MediaTypeOCILayer
	case o.Docker:
		return manifest.MediaTypeDockerLayer
	}
	return manifest.MediaTypeOCILayerGzip
}

func (im *Image) finish(o Options) error {
	cfg := manifest.Config{Created: o.Created, Architecture: o.Platform.Architecture, OS: o.Platform.OS, Variant: o.Platform.Variant,
		OSVersion: o.Platform.OSVersion, OSFeatures: o.Platform.OSFeatures,
		RootFS: manifest.RootFS{Type: "layers", DiffIDs: im.DiffIDs}, Config: manifest.RuntimeConfig{Env: o.Env, Cmd: o.Cmd}}
	if cfg.RootFS.DiffIDs == nil {
		cfg.RootFS.DiffIDs = []manifest.Digest{}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	im.Config = raw
	mt, cfgType := manifest.MediaTypeOCIManifest, manifest.MediaTypeOCIConfig
	if o.Docker {
		mt, cfgType = manifest.MediaTypeDockerManifest, manifest.MediaTypeDockerConfig
	}
	m := manifest.Manifest{SchemaVersion: 2, MediaType: mt, Config: im.add(cfgType, raw), Layers: []manifest.Descriptor{}}
	based := 0
	if o.Base != nil {
		based = len(o.Base.Layers)
	}
	for i, l := range im.Layers {
		m.Layers = append(m.Layers, im.add(layerType(o, i < based), l))
	}
	doc, err := manifest.Marshal(mt, &m)
	if err != nil {
		return err
	}
	im.Manifest = doc
	im.Blobs[doc.Digest] = doc.Raw
	return nil
}

func (im *Image) add(mt string, b []byte) manifest.Descriptor {
	d := manifest.DescriptorFor(mt, b)
	im.Blobs[d.Digest] = b
	return d
}

// makeTar returns a tar holding one file of n bytes drawn from rng.
func makeTar(rng *rand.Rand, name string, n int, compressible bool) ([]byte, error) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(n), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if _, err := io.CopyN(tw, Contents(rng, compressible), int64(n)); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return tarBuf.Bytes(), nil
}

// Contents is the endless data of a generated layer's file: random bytes
// drawn from rng, or, when compressible, one line drawn from it over and
// over.
func Contents(rng *rand.Rand, compressible bool) io.Reader {
	if compressible {
		line := fmt.Sprintf("skiff test data %d\n", rng.Uint32())
		return &repeater{b: []byte(line)}
	}
	return &randReader{rng: rng}
}

type randReader struct{ rng *rand.Rand }

func (r *randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.rng.Uint32())
	}
	return len(p), nil
}

type repeater struct {
	b []byte
	i int
}

func (r *repeater) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b[r.i%len(r.b)]
		r.i++
	}
	return len(p), nil
}

// Index makes an OCI index (or Docker manifest list) of images.
func Index(docker bool, images ...*Image) (*manifest.Document, error) {
	mt := manifest.MediaTypeOCIIndex
	if docker {
		mt = manifest.MediaTypeDockerManifestList
	}
	idx := manifest.Index{SchemaVersion: 2, MediaType: mt}
	for _, im := range images {
		idx.Manifests = append(idx.Manifests, im.Descriptor())
	}
	return manifest.Marshal(mt, &idx)
}

// Push stores every blob of im, then its manifest, in dst, and tags it
// when tag is not empty.
func Push(ctx context.Context, dst manifest.Store, im *Image, tag string) error {
	for i, l := range im.Layers {
		if err := dst.Push(ctx, im.Manifest.Manifest.Layers[i], bytes.NewReader(l)); err != nil {
			return err
		}
	}
	if err := dst.Push(ctx, im.Manifest.Manifest.Config, bytes.NewReader(im.Config)); err != nil {
		return err
	}
	return PushDocument(ctx, dst, im.Manifest, tag)
}

// PushDocument stores a manifest or index and tags it when tag is set.
func PushDocument(ctx context.Context, dst manifest.Store, doc *manifest.Document, tag string) error {
	if err := dst.Push(ctx, doc.Descriptor(), bytes.NewReader(doc.Raw)); err != nil {
		return err
	}
	if tag == "" {
		return nil
	}
	return dst.Tag(ctx, doc.Descriptor(), tag)
}

// Fetcher serves the blobs of images from memory.
type Fetcher map[manifest.Digest][]byte

// Add puts every blob of im into f.
func (f Fetcher) Add(im *Image) Fetcher {
	for d, b := range im.Blobs {
		f[d] = b
	}
	return f
}

// Fetch implements manifest.Fetcher.
func (f Fetcher) Fetch(_ context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	b, ok := f[d.Digest]
	if !ok {
		return nil, fmt.Errorf("testimage: %s: %w", d.Digest, manifest.ErrNotFound)
	}
	return io.NopCloser(manifest.NewVerifyingReader(bytes.NewReader(b), d)), nil
}
