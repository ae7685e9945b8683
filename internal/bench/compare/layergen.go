//go:build linux

package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"

	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// layerSource generates one layer, a gzip'd tar holding one file, as a
// stream: the same bytes every time it is written, never held in memory.
// Unless the spec is stored, the bytes are those internal/testimage makes
// for a one-layer image of the same size and seed.
type layerSource struct {
	spec layerSpec
	seed uint64
}

// sources numbers layers as seedImage always has: seed×100 + position.
func sources(specs []layerSpec, seed uint64) []layerSource {
	out := make([]layerSource, len(specs))
	for i, s := range specs {
		out[i] = layerSource{spec: s, seed: seed*100 + uint64(i)}
	}
	return out
}

// writeTo writes the compressed layer to gz and the uncompressed tar to
// tarOut (whose digest is the diffID).
func (s layerSource) writeTo(gz, tarOut io.Writer) error {
	level := gzip.BestSpeed
	if s.spec.stored {
		level = gzip.NoCompression
	}
	zw, err := gzip.NewWriterLevel(gz, level)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(io.MultiWriter(zw, tarOut))
	hdr := &tar.Header{Name: "layer0/file", Mode: 0o644, Size: int64(s.spec.size), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.CopyBuffer(tw, io.LimitReader(s.contents(), int64(s.spec.size)), make([]byte, 256*kib)); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// contents is the file's data: testimage's generators, or, for a stored
// layer, random bytes made eight at a time (fast enough for gigabytes).
func (s layerSource) contents() io.Reader {
	rng := rand.New(rand.NewPCG(s.seed, 1))
	if s.spec.stored && !s.spec.compressible {
		return &fastRand{rng: rng}
	}
	return testimage.Contents(rng, s.spec.compressible)
}

// measure writes the layer once to learn its descriptor, its diffID and
// the size of its tar.
func (s layerSource) measure(mediaType string) (manifest.Descriptor, manifest.Digest, int64, error) {
	gz, tarDigest := manifest.NewDigester(manifest.SHA256), manifest.NewDigester(manifest.SHA256)
	n, raw := &counter{}, &counter{}
	if err := s.writeTo(io.MultiWriter(gz, n), io.MultiWriter(tarDigest, raw)); err != nil {
		return manifest.Descriptor{}, "", 0, err
	}
	return manifest.Descriptor{MediaType: mediaType, Digest: gz.Digest(), Size: n.n}, tarDigest.Digest(), raw.n, nil
}

// push writes the layer a second time, straight into an upload; the
// client verifies the digest as it streams.
func (s layerSource) push(ctx context.Context, repo *registry.Repository, d manifest.Descriptor) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.writeTo(pw, io.Discard)) }()
	err := repo.Push(ctx, d, pr)
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer if the push gave up
	return err
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// fastRand is random data eight bytes per number drawn.
type fastRand struct{ rng *rand.Rand }

func (r *fastRand) Read(p []byte) (int, error) {
	var last [8]byte
	for i := 0; i < len(p); i += 8 {
		if len(p)-i >= 8 {
			binary.LittleEndian.PutUint64(p[i:], r.rng.Uint64())
			continue
		}
		binary.LittleEndian.PutUint64(last[:], r.rng.Uint64())
		copy(p[i:], last[:])
	}
	return len(p), nil
}
