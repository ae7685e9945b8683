package tarball_test

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/tarball"
)

// benchImage is an image of four random layers, 1 to 4 MiB, served from
// memory: what is measured is the tarball writer, not a network.
func benchImage(b *testing.B) ([]tarball.Entry, int64) {
	b.Helper()
	im, err := testimage.New(testimage.Options{LayerSizes: []int{4 << 20, 3 << 20, 2 << 20, 1 << 20}, Seed: 11})
	if err != nil {
		b.Fatal(err)
	}
	images := []tarball.Entry{{Tags: []string{"bench/app:1"}, Manifest: im.Manifest, Fetcher: testimage.Fetcher{}.Add(im)}}
	size, err := tarball.CalculateSize(images, nil)
	if err != nil {
		b.Fatal(err)
	}
	return images, size
}

func BenchmarkWrite(b *testing.B) {
	images, size := benchImage(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if err := tarball.Write(b.Context(), io.Discard, images, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteFile(b *testing.B) {
	images, size := benchImage(b)
	path := filepath.Join(b.TempDir(), "image.tar")
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if err := tarball.WriteFile(b.Context(), path, images, &tarball.WriteOptions{Jobs: 4}); err != nil {
			b.Fatal(err)
		}
	}
}
