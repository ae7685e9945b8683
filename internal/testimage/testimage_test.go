package testimage_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
)

func TestImageIsConsistent(t *testing.T) {
	im, err := testimage.New(testimage.Options{LayerSizes: []int{1000, 5000}, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := testimage.New(testimage.Options{LayerSizes: []int{1000, 5000}, Seed: 7})
	if again.Manifest.Digest != im.Manifest.Digest {
		t.Fatal("same options gave different images")
	}
	cfg, err := manifest.ParseConfig(im.Config)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range im.Layers {
		zr, err := gzip.NewReader(bytes.NewReader(l))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(zr)
		if manifest.FromBytes(raw) != cfg.RootFS.DiffIDs[i] {
			t.Fatalf("layer %d diffID mismatch", i)
		}
		hdr, err := tar.NewReader(bytes.NewReader(raw)).Next()
		if err != nil || hdr.Size != int64([]int{1000, 5000}[i]) {
			t.Fatalf("layer %d: %v %v", i, hdr, err)
		}
		if im.Manifest.Manifest.Layers[i].Digest != manifest.FromBytes(l) {
			t.Fatalf("layer %d digest mismatch", i)
		}
	}
	idx, err := testimage.Index(false, im, again)
	if err != nil || len(idx.Index.Manifests) != 2 || idx.Index.Manifests[0].Platform.String() != "linux/amd64" {
		t.Fatalf("index: %v", err)
	}
}

// TestBase: images made on one base share its layer blobs and differ in
// their own.
func TestBase(t *testing.T) {
	base, _ := testimage.New(testimage.Options{LayerSizes: []int{3000}, Seed: 1})
	a, _ := testimage.New(testimage.Options{LayerSizes: []int{100}, Seed: 2, Base: base})
	b, _ := testimage.New(testimage.Options{LayerSizes: []int{100}, Seed: 3, Base: base})
	la, lb := a.Manifest.Manifest.Layers, b.Manifest.Manifest.Layers
	if len(la) != 2 || la[0].Digest != base.Manifest.Manifest.Layers[0].Digest || lb[0].Digest != la[0].Digest || la[1].Digest == lb[1].Digest {
		t.Fatalf("layers %v and %v", la, lb)
	}
	if cfg, err := manifest.ParseConfig(a.Config); err != nil || len(cfg.RootFS.DiffIDs) != 2 || cfg.RootFS.DiffIDs[0] != base.DiffIDs[0] {
		t.Fatalf("config %+v, %v", cfg, err)
	}
}
