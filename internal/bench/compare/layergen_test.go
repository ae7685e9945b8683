//go:build linux

package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
)

// TestLayerSourceMatchesTestimage: the streamed layers are the bytes
// internal/testimage makes in memory, so the images of earlier reports are
// the same.
func TestLayerSourceMatchesTestimage(t *testing.T) {
	for _, spec := range []layerSpec{random(100 * kib), repetitive(300 * kib), random(1)} {
		src := layerSource{spec: spec, seed: 101}
		want, err := testimage.New(testimage.Options{LayerSizes: []int{spec.size}, Compressible: spec.compressible, Seed: 101, Docker: true})
		if err != nil {
			t.Fatal(err)
		}
		var gz, tarOut bytes.Buffer
		if err := src.writeTo(&gz, &tarOut); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gz.Bytes(), want.Layers[0]) {
			t.Errorf("%+v: the streamed layer differs from testimage's", spec)
		}
		d, diffID, raw, err := src.measure(manifest.MediaTypeDockerLayer)
		if err != nil {
			t.Fatal(err)
		}
		if raw != int64(tarOut.Len()) {
			t.Errorf("%+v: measured a tar of %d bytes, want %d", spec, raw, tarOut.Len())
		}
		if wd := want.Manifest.Manifest.Layers[0]; d.Digest != wd.Digest || d.Size != wd.Size || d.MediaType != wd.MediaType || diffID != want.DiffIDs[0] || diffID != manifest.FromBytes(tarOut.Bytes()) {
			t.Errorf("%+v: measured %v %s, want %v %s", spec, d, diffID, wd, want.DiffIDs[0])
		}
	}
}

// TestStoredLayerIsAValidRepeatableLayer: a stored layer is gzip of a tar
// whose file holds size bytes, the same every time, and barely larger
// than its contents.
func TestStoredLayerIsAValidRepeatableLayer(t *testing.T) {
	src := layerSource{spec: stored(300*kib + 3), seed: 7}
	d1, diffID, _, err := src.measure(manifest.MediaTypeDockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	if err := src.writeTo(&gz, io.Discard); err != nil {
		t.Fatal(err)
	}
	if manifest.FromBytes(gz.Bytes()) != d1.Digest || int64(gz.Len()) != d1.Size {
		t.Fatalf("a second write gave other bytes than the first")
	}
	if d1.Size > int64(src.spec.size)+2*kib+kib {
		t.Errorf("%d bytes stored for %d of data: not stored blocks?", d1.Size, src.spec.size)
	}
	zr, err := gzip.NewReader(&gz)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if manifest.FromBytes(raw) != diffID {
		t.Errorf("the diffID is not the digest of the tar")
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	h, err := tr.Next()
	if err != nil || h.Size != int64(src.spec.size) {
		t.Fatalf("tar entry %+v, %v; want one file of %d bytes", h, err, src.spec.size)
	}
	data, _ := io.ReadAll(tr)
	if bytes.Count(data, []byte{0}) > len(data)/100 {
		t.Errorf("the stored layer's data does not look random")
	}
}
