package imagestest

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
	"github.com/skiffoci/skiff/registry/images"
)

// Options vary a Random image. The zero value is an OCI image for
// linux/amd64 made from seed 0.
type Options struct {
	// Seed chooses the layers' contents.
	Seed uint64
	// Platform is the config's; linux/amd64 when OS is empty.
	Platform manifest.Platform
	// Docker gives the image Docker's media types instead of OCI's.
	Docker bool
}

// Random returns an image of layers layers, each a gzip'd tar holding one
// file, "layerN", of size random bytes drawn from opts.Seed and N. The
// image holds its blobs in memory: write it anywhere with its Write
// method, or hand it to a tarball.Entry as its Source.
func Random(size int64, layers int, opts *Options) (*images.Image, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Platform.OS == "" {
		o.Platform = manifest.Platform{OS: "linux", Architecture: "amd64"}
	}
	if size < 0 || layers < 0 {
		return nil, fmt.Errorf("imagestest: %d layers of %d bytes", layers, size)
	}
	blobs := blobs{}
	cfg := manifest.Config{Architecture: o.Platform.Architecture, OS: o.Platform.OS, Variant: o.Platform.Variant,
		OSVersion: o.Platform.OSVersion, RootFS: manifest.RootFS{Type: "layers", DiffIDs: []manifest.Digest{}}}
	mt, cfgType := manifest.MediaTypeOCIManifest, manifest.MediaTypeOCIConfig
	if o.Docker {
		mt, cfgType = manifest.MediaTypeDockerManifest, manifest.MediaTypeDockerConfig
	}
	m := manifest.Manifest{SchemaVersion: 2, MediaType: mt, Layers: []manifest.Descriptor{}}
	for i := range layers {
		l, err := newLayer(fmt.Sprintf("layer%d", i), size, rand.NewPCG(o.Seed, uint64(i)), o.Docker)
		if err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, blobs.add(l.desc.MediaType, l.blob))
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.diffID)
		cfg.History = append(cfg.History, manifest.History{CreatedBy: "imagestest.Random"})
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	m.Config = blobs.add(cfgType, raw)
	doc, err := manifest.Marshal(mt, &m)
	if err != nil {
		return nil, err
	}
	blobs.add(mt, doc.Raw)
	return images.OpenDocument(context.Background(), blobs, doc)
}

// Layer returns a new layer, to append to an image with its AppendLayer
// method: a gzip'd tar holding one file, "file", of size random bytes
// drawn from seed.
func Layer(size int64, seed uint64) (images.Layer, error) {
	if size < 0 {
		return nil, fmt.Errorf("imagestest: a layer of %d bytes", size)
	}
	return newLayer("file", size, rand.NewPCG(seed, 0), false)
}

// layer is a layer held in memory.
type layer struct {
	desc   manifest.Descriptor
	diffID manifest.Digest
	blob   []byte
}

func (l *layer) Describe() (manifest.Descriptor, manifest.Digest) { return l.desc, l.diffID }

func (l *layer) Open() (io.ReadCloser, error) {
	return io.NopCloser(manifest.NewVerifyingReader(bytes.NewReader(l.blob), l.desc)), nil
}

// newLayer makes a gzip'd tar of one file, name, of size bytes from src.
func newLayer(name string, size int64, src rand.Source, docker bool) (*layer, error) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := io.CopyN(tw, randReader{rand.New(src)}, size); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	// Random bytes do not compress: stored blocks are as small, faster, and
	// the same bytes whatever compress/flate's heuristics become. No name,
	// no time in the header.
	zw, _ := gzip.NewWriterLevel(&gz, gzip.NoCompression)
	zw.Write(tarBuf.Bytes())
	if err := zw.Close(); err != nil {
		return nil, err
	}
	mt := manifest.MediaTypeOCILayerGzip
	if docker {
		mt = manifest.MediaTypeDockerLayer
	}
	return &layer{desc: manifest.DescriptorFor(mt, gz.Bytes()), diffID: manifest.FromBytes(tarBuf.Bytes()), blob: gz.Bytes()}, nil
}

type randReader struct{ rng *rand.Rand }

func (r randReader) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += 8 {
		v := r.rng.Uint64()
		for j := i; j < min(i+8, len(p)); j++ {
			p[j], v = byte(v), v>>8
		}
	}
	return len(p), nil
}

// blobs serves content from memory, by digest, verified.
type blobs map[manifest.Digest][]byte

func (b blobs) add(mt string, data []byte) manifest.Descriptor {
	d := manifest.DescriptorFor(mt, data)
	b[d.Digest] = data
	return d
}

func (b blobs) Fetch(_ context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	data, ok := b[d.Digest]
	if !ok {
		return nil, fmt.Errorf("imagestest: %s: %w", d.Digest, manifest.ErrNotFound)
	}
	return io.NopCloser(manifest.NewVerifyingReader(bytes.NewReader(data), d)), nil
}
