//go:build linux

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// layerSpec is one generated layer: its uncompressed size and whether its
// contents are repetitive (compressing to almost nothing) or random; a
// stored layer is random data in a gzip stream of stored blocks, made fast
// enough to seed gigabytes.
type layerSpec struct {
	size         int
	compressible bool
	stored       bool
}

func random(n int) layerSpec     { return layerSpec{size: n} }
func repetitive(n int) layerSpec { return layerSpec{size: n, compressible: true} }
func stored(n int) layerSpec     { return layerSpec{size: n, stored: true} }

// scale sizes the test images.
type scale struct {
	big         []layerSpec
	tinyLayers  int
	tinySize    int
	indexLayers []layerSpec // of each platform's image
	platforms   []string
	appendSize  int
	// The scale images (-ops scale): a huge image, one of many layers, and
	// many images sharing a base layer, pulled together.
	huge       []layerSpec
	wideLayers int
	wideSize   int
	many       int
	manyBase   layerSpec
	manyOwn    layerSpec
	// The capped link's one-layer images (-ops capped).
	one, oneHuge layerSpec
}

var scales = map[string]scale{
	// full: 390 MiB of random layers (≈ 409 MB compressed) and 80 MiB
	// that compress to about a megabyte.
	"full": {
		big:        []layerSpec{random(160 * mib), repetitive(48 * mib), random(130 * mib), repetitive(32 * mib), random(100 * mib)},
		tinyLayers: 30, tinySize: 2 * kib,
		indexLayers: []layerSpec{random(8 * mib), repetitive(4 * mib)},
		platforms:   []string{"linux/amd64", "linux/arm64", "linux/arm/v7"},
		appendSize:  1 * mib,
		// 4 GiB in four layers (4.3 GB).
		huge:       []layerSpec{stored(gib), stored(gib), stored(gib), stored(gib)},
		wideLayers: 300, wideSize: 16 * kib,
		many: 20, manyBase: random(8 * mib), manyOwn: random(2 * mib),
		// 128 MiB, and 4 GiB, in one layer.
		one: stored(128 * mib), oneHuge: stored(4 * gib),
	},
	// small: the same shapes, tiny, to check the harness.
	"small": {
		big:        []layerSpec{random(2 * mib), repetitive(1 * mib), random(1536 * kib), repetitive(512 * kib), random(1 * mib)},
		tinyLayers: 30, tinySize: 1 * kib,
		indexLayers: []layerSpec{random(64 * kib), repetitive(32 * kib)},
		platforms:   []string{"linux/amd64", "linux/arm64", "linux/arm/v7"},
		appendSize:  1 * mib,
		huge:        []layerSpec{stored(8 * mib), stored(8 * mib)},
		wideLayers:  300, wideSize: 1 * kib,
		many: 20, manyBase: random(256 * kib), manyOwn: random(64 * kib),
		one: stored(40 * mib), oneHuge: stored(72 * mib),
	},
}

// seeded describes an image pushed for the benchmarks.
type seeded struct {
	ref   string                // HOST/REPO:TAG
	name  string                // HOST/REPO
	repo  string                // REPO
	desc  manifest.Descriptor   // its manifest
	blobs []manifest.Descriptor // config and layers
	size  int64                 // compressed bytes of its layers
	raw   int64                 // their bytes uncompressed (some tools store layers so)
	note  string
}

// least is the fewest bytes a tool can store the image's layers in: the
// compressed size, or the uncompressed one for layers of stored blocks.
func (s *seeded) least() int64 { return min(s.size, s.raw) }

// seedImage pushes an image of the given layers to ref, each layer
// streamed twice (once to learn its digest, once into the upload), so that
// memory holds none of them.
func seedImage(ctx context.Context, c *registry.Client, ref string, layers []layerSource, platform string) (*seeded, error) {
	r, err := reference.Parse(ref)
	if err != nil {
		return nil, err
	}
	repo := c.Repository(r)
	p, err := manifest.ParsePlatform(platform)
	if err != nil {
		return nil, err
	}
	out := &seeded{ref: ref, name: r.Name(), repo: r.Repository}
	var descs []manifest.Descriptor
	var diffIDs []manifest.Digest
	for _, l := range layers {
		d, diffID, raw, err := l.measure(manifest.MediaTypeDockerLayer)
		if err != nil {
			return nil, err
		}
		if err := l.push(ctx, repo, d); err != nil {
			return nil, fmt.Errorf("seeding %s: %w", ref, err)
		}
		descs = append(descs, d)
		diffIDs = append(diffIDs, diffID)
		out.size += d.Size
		out.raw += raw
	}
	doc, cfg, err := compose(diffIDs, descs, p)
	if err != nil {
		return nil, err
	}
	if err := repo.Push(ctx, doc.Manifest.Config, bytes.NewReader(cfg)); err != nil {
		return nil, err
	}
	if err := testimage.PushDocument(ctx, repo, doc, r.Tag); err != nil {
		return nil, err
	}
	out.desc = doc.Descriptor()
	out.desc.Platform = &p
	out.blobs = append([]manifest.Descriptor{doc.Manifest.Config}, descs...)
	out.note = describe(specsOf(layers), out.size)
	return out, nil
}

func specsOf(layers []layerSource) []layerSpec {
	out := make([]layerSpec, len(layers))
	for i, l := range layers {
		out[i] = l.spec
	}
	return out
}

// compose makes the config and Docker manifest of layers already pushed.
func compose(diffIDs []manifest.Digest, layers []manifest.Descriptor, p manifest.Platform) (*manifest.Document, []byte, error) {
	cfg, err := json.Marshal(manifest.Config{Architecture: p.Architecture, OS: p.OS, Variant: p.Variant,
		RootFS: manifest.RootFS{Type: "layers", DiffIDs: diffIDs}})
	if err != nil {
		return nil, nil, err
	}
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeDockerManifest,
		Config: manifest.DescriptorFor(manifest.MediaTypeDockerConfig, cfg), Layers: layers}
	doc, err := manifest.Marshal(manifest.MediaTypeDockerManifest, &m)
	return doc, cfg, err
}

// describe lists layers, runs of equal ones as "30 × 1 KiB random".
func describe(layers []layerSpec, compressed int64) string {
	var parts []string
	for i := 0; i < len(layers); {
		j := i + 1
		for j < len(layers) && layers[j] == layers[i] {
			j++
		}
		kind := "random"
		switch {
		case layers[i].compressible:
			kind = "repetitive"
		case layers[i].stored:
			kind = "random, stored uncompressed in gzip"
		}
		part := bytesIEC(int64(layers[i].size)) + " " + kind
		if j-i > 1 {
			part = fmt.Sprintf("%d × %s", j-i, part)
		}
		parts = append(parts, part)
		i = j
	}
	return fmt.Sprintf("%d layers (%s), %s compressed", len(layers), strings.Join(parts, ", "), bytesSI(compressed))
}

// seedIndex pushes one image per platform and an OCI index of them to ref.
func seedIndex(ctx context.Context, c *registry.Client, ref string, sc scale) (*seeded, error) {
	r, err := reference.Parse(ref)
	if err != nil {
		return nil, err
	}
	repo := c.Repository(r)
	idx := manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex}
	out := &seeded{ref: ref, name: r.Name(), repo: r.Repository}
	for i, plat := range sc.platforms {
		tag := "p" + fmt.Sprint(i)
		im, err := seedImage(ctx, c, r.Name()+":"+tag, sources(sc.indexLayers, uint64(10+i)), plat)
		if err != nil {
			return nil, err
		}
		idx.Manifests = append(idx.Manifests, im.desc)
		out.blobs = append(out.blobs, im.blobs...)
		out.size += im.size
		out.raw += im.raw
	}
	doc, err := manifest.Marshal(manifest.MediaTypeOCIIndex, &idx)
	if err != nil {
		return nil, err
	}
	if err := testimage.PushDocument(ctx, repo, doc, r.Tag); err != nil {
		return nil, err
	}
	out.note = fmt.Sprintf("index of %d platforms (%s), each %s", len(sc.platforms), strings.Join(sc.platforms, ", "), describe(sc.indexLayers, out.size/int64(len(sc.platforms))))
	return out, nil
}

// seedTiny pushes an image of n layers of size bytes each.
func seedTiny(ctx context.Context, c *registry.Client, ref string, n, size int) (*seeded, error) {
	layers := make([]layerSpec, n)
	for i := range layers {
		layers[i] = layerSpec{size: size}
	}
	return seedImage(ctx, c, ref, sources(layers, 3), "linux/amd64")
}

// writeLayerTar writes a plain tar holding one file of size random bytes,
// different for every seed, as the layer that append adds.
func writeLayerTar(path string, size int, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = tw.WriteHeader(&tar.Header{Name: "added/file", Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg, Format: tar.FormatPAX})
	if err == nil {
		rng := rand.New(rand.NewPCG(seed, 42))
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		_, err = tw.Write(buf)
	}
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
