package imagestest_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
)

func random(t *testing.T, size int64, layers int, o *imagestest.Options) *images.Image {
	t.Helper()
	im, err := imagestest.Random(size, layers, o)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func digest(t *testing.T, im *images.Image) manifest.Digest {
	t.Helper()
	d, err := im.Descriptor()
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest
}

// The same arguments give the same image; another seed another one.
func TestRandomIsReproducible(t *testing.T) {
	a := digest(t, random(t, 1000, 2, &imagestest.Options{Seed: 7}))
	if b := digest(t, random(t, 1000, 2, &imagestest.Options{Seed: 7})); a != b {
		t.Fatalf("the same seed gave %s and %s", a, b)
	}
	if c := digest(t, random(t, 1000, 2, &imagestest.Options{Seed: 8})); a == c {
		t.Fatal("another seed gave the same image")
	}
	l1, _ := imagestest.Layer(100, 3)
	l2, _ := imagestest.Layer(100, 3)
	if d1, _ := l1.Describe(); d1.Digest != func() manifest.Digest { d, _ := l2.Describe(); return d.Digest }() {
		t.Fatal("Layer with the same seed gave other bytes")
	}
}

// Every layer is a gzip'd tar of one file of the size asked for, whose
// tar hashes to the config's diffID, and the layers differ.
func TestRandomLayersAreRealTars(t *testing.T) {
	ctx := context.Background()
	im := random(t, 3000, 3, nil)
	cfg := im.Config()
	seen := map[manifest.Digest]bool{}
	for i, d := range im.Layers() {
		if d.MediaType != manifest.MediaTypeOCILayerGzip {
			t.Errorf("layer %d: media type %s", i, d.MediaType)
		}
		b, err := manifest.FetchAll(ctx, im, d, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("layer %d is not gzip: %v", i, err)
		}
		raw, _ := io.ReadAll(zr)
		if got := manifest.FromBytes(raw); got != cfg.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: tar hashes to %s, config says %s", i, got, cfg.RootFS.DiffIDs[i])
		}
		tr := tar.NewReader(bytes.NewReader(raw))
		hdr, err := tr.Next()
		if err != nil || hdr.Size != 3000 || hdr.Typeflag != tar.TypeReg {
			t.Errorf("layer %d: first entry %+v, %v", i, hdr, err)
		}
		if _, err := tr.Next(); err != io.EOF {
			t.Errorf("layer %d: more than one entry: %v", i, err)
		}
		seen[d.Digest] = true
	}
	if len(seen) != 3 {
		t.Fatalf("3 layers but %d distinct ones", len(seen))
	}
}

func TestRandomOptions(t *testing.T) {
	arm := manifest.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	im := random(t, 10, 1, &imagestest.Options{Platform: arm, Docker: true})
	if got := im.Platform(); got.String() != arm.String() {
		t.Errorf("platform %s, want %s", got, arm)
	}
	doc, err := im.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if doc.MediaType != manifest.MediaTypeDockerManifest || doc.Manifest.Config.MediaType != manifest.MediaTypeDockerConfig ||
		im.Layers()[0].MediaType != manifest.MediaTypeDockerLayer {
		t.Errorf("Docker image with types %s, %s, %s", doc.MediaType, doc.Manifest.Config.MediaType, im.Layers()[0].MediaType)
	}
	if got := random(t, 0, 0, nil); len(got.Layers()) != 0 || got.Platform().String() != "linux/amd64" {
		t.Errorf("Random(0, 0, nil): %d layers, %s", len(got.Layers()), got.Platform())
	}
	if _, err := imagestest.Random(-1, 1, nil); err == nil {
		t.Error("a negative size was accepted")
	}
}

// An index of two images lists their platforms, opens each, and writes
// whole to a layout.
func TestIndex(t *testing.T) {
	ctx := context.Background()
	amd := random(t, 100, 1, &imagestest.Options{Seed: 1})
	arm64 := manifest.Platform{OS: "linux", Architecture: "arm64"}
	arm := random(t, 100, 2, &imagestest.Options{Seed: 2, Platform: arm64})
	ix, err := images.NewIndex(amd, arm)
	if err != nil {
		t.Fatal(err)
	}
	ms := ix.Manifests()
	if len(ms) != 2 || ms[0].Platform.String() != "linux/amd64" || ms[1].Platform.String() != "linux/arm64" {
		t.Fatalf("entries %+v", ms)
	}
	got, err := ix.Image(ctx, arm64)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, got) != digest(t, arm) {
		t.Fatal("the arm64 entry opened another image")
	}
	l, err := layout.Create(filepath.Join(t.TempDir(), "l"))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := ix.Write(ctx, l, "v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if desc.MediaType != manifest.MediaTypeOCIIndex {
		t.Errorf("index media type %s", desc.MediaType)
	}
	back, err := images.OpenIndexFrom(ctx, l, "v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []manifest.Platform{{OS: "linux", Architecture: "amd64"}, arm64} {
		im, err := back.Image(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range im.Layers() {
			if _, err := manifest.FetchAll(ctx, l, d, 1<<20); err != nil {
				t.Errorf("%s: layer %s: %v", p, d.Digest, err)
			}
		}
	}
	docker, err := images.NewIndex(random(t, 1, 1, &imagestest.Options{Docker: true}))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := docker.Document(); d.MediaType != manifest.MediaTypeDockerManifestList {
		t.Errorf("an index of Docker images is a %s", d.MediaType)
	}
}

// A Layer appended to a Random image is a new top layer with its diffID.
func TestLayerAppends(t *testing.T) {
	l, err := imagestest.Layer(512, 9)
	if err != nil {
		t.Fatal(err)
	}
	im, err := random(t, 100, 1, nil).AppendLayer(l, manifest.History{CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	desc, diffID := l.Describe()
	if got := im.Layers(); len(got) != 2 || got[1].Digest != desc.Digest {
		t.Fatalf("layers %v", got)
	}
	if got := im.Config().RootFS.DiffIDs[1]; got != diffID {
		t.Fatalf("diffID %s, want %s", got, diffID)
	}
	if _, err := manifest.FetchAll(context.Background(), im, desc, 1<<20); err != nil {
		t.Fatal(err)
	}
}
