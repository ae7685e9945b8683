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
)

// layerSpec is one generated layer: its uncompressed size and whether its
// contents are repetitive (compressing to almost nothing) or random.
type layerSpec struct {
	size         int
	compressible bool
}

// scale sizes the test images.
type scale struct {
	big         []layerSpec
	tinyLayers  int
	tinySize    int
	indexLayers []layerSpec // of each platform's image
	platforms   []string
	appendSize  int
}

var scales = map[string]scale{
	// full: 390 MiB of random layers (≈ 409 MB compressed) and 80 MiB
	// that compress to about a megabyte.
	"full": {
		big:        []layerSpec{{160 * mib, false}, {48 * mib, true}, {130 * mib, false}, {32 * mib, true}, {100 * mib, false}},
		tinyLayers: 30, tinySize: 2 * kib,
		indexLayers: []layerSpec{{8 * mib, false}, {4 * mib, true}},
		platforms:   []string{"linux/amd64", "linux/arm64", "linux/arm/v7"},
		appendSize:  1 * mib,
	},
	// small: the same shapes, tiny, to check the harness.
	"small": {
		big:        []layerSpec{{2 * mib, false}, {1 * mib, true}, {1536 * kib, false}, {512 * kib, true}, {1 * mib, false}},
		tinyLayers: 30, tinySize: 1 * kib,
		indexLayers: []layerSpec{{64 * kib, false}, {32 * kib, true}},
		platforms:   []string{"linux/amd64", "linux/arm64", "linux/arm/v7"},
		appendSize:  1 * mib,
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
	note  string
}

// seedImage pushes an image of the given layers to ref, one layer at a time
// so that memory holds no more than one of them.
func seedImage(ctx context.Context, c *registry.Client, ref string, layers []layerSpec, platform string, seed uint64) (*seeded, error) {
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
	for i, l := range layers {
		one, err := testimage.New(testimage.Options{LayerSizes: []int{l.size}, Compressible: l.compressible, Seed: seed*100 + uint64(i), Docker: true})
		if err != nil {
			return nil, err
		}
		d := one.Manifest.Manifest.Layers[0]
		if err := repo.Push(ctx, d, bytes.NewReader(one.Layers[0])); err != nil {
			return nil, fmt.Errorf("seeding %s: %w", ref, err)
		}
		descs = append(descs, d)
		diffIDs = append(diffIDs, one.DiffIDs[0])
		out.size += d.Size
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
	out.note = describe(layers, out.size)
	return out, nil
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
		if layers[i].compressible {
			kind = "repetitive"
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
		im, err := seedImage(ctx, c, r.Name()+":"+tag, sc.indexLayers, plat, uint64(10+i))
		if err != nil {
			return nil, err
		}
		idx.Manifests = append(idx.Manifests, im.desc)
		out.size += im.size
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
	return seedImage(ctx, c, ref, layers, "linux/amd64", 3)
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
