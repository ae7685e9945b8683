package mirror_test

import (
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/mirror"
)

// TestSyncOCIMediaTypes: a Docker-typed image lands in a layout with OCI
// media types; a second sync finds it unchanged and moves no blob.
func TestSyncOCIMediaTypes(t *testing.T) {
	a := registrytest.NewServer(t, nil)
	src := repo(t, a, "o/app")
	im, err := testimage.New(testimage.Options{LayerSizes: []int{3000}, Docker: true, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.Push(t.Context(), src, im, "v1"); err != nil {
		t.Fatal(err)
	}
	l, err := layout.Create(filepath.Join(t.TempDir(), "o", "app"))
	if err != nil {
		t.Fatal(err)
	}
	opts := &mirror.Options{OCIMediaTypes: true}
	if _, err := mirror.Sync(t.Context(), l, src, opts); err != nil {
		t.Fatal(err)
	}
	d, err := l.Resolve(t.Context(), "v1")
	if err != nil || d.MediaType != manifest.MediaTypeOCIManifest || d.Digest == im.Manifest.Digest {
		t.Fatalf("layout has %+v, %v; want an OCI manifest", d, err)
	}
	doc, err := manifest.FetchDocument(t.Context(), l, d)
	if err != nil || doc.Manifest.Config.MediaType != manifest.MediaTypeOCIConfig || doc.Manifest.Layers[0].MediaType != manifest.MediaTypeOCILayerGzip {
		t.Fatalf("converted manifest %+v, %v", doc, err)
	}
	a.Log.Reset()
	rep, err := mirror.Sync(t.Context(), l, src, opts)
	if err != nil || actions(rep) != "v1:unchanged" || blobGETs(a) != 0 {
		t.Fatalf("second sync: %s, %v, %d blob bytes", actions(rep), err, blobGETs(a))
	}
}
