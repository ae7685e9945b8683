package registry_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// TestPrepareUploads: sessions opened ahead are used by the next pushes,
// big or small, so pushing them sends no POST; once they are used up,
// pushes open their own.
func TestPrepareUploads(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, nil, c, "a/b")
	repo.PrepareUploads(t.Context(), 2)
	big := newUploadSource(3 << 20)
	small := []byte("a small config")
	smallDesc := manifest.DescriptorFor(manifest.MediaTypeOCIConfig, small)
	posts := func() int {
		return srv.Log.Count(func(r registrytest.Request) bool {
			return r.Method == http.MethodPost && strings.Contains(r.Path, "/blobs/uploads/")
		})
	}
	rc, _ := big.open(0)
	if err := repo.Push(t.Context(), big.desc, rc); err != nil {
		t.Fatal(err)
	}
	if err := repo.Push(t.Context(), smallDesc, bytes.NewReader(small)); err != nil {
		t.Fatal(err)
	}
	if n := posts(); n != 2 {
		t.Fatalf("%d POSTs for 2 prepared sessions and 2 pushes", n)
	}
	another := []byte("another")
	if err := repo.Push(t.Context(), manifest.DescriptorFor(manifest.MediaTypeOCIConfig, another), bytes.NewReader(another)); err != nil {
		t.Fatal(err)
	}
	if n := posts(); n != 3 {
		t.Fatalf("a third push opened %d sessions of its own", n-2)
	}
	for _, d := range []manifest.Descriptor{big.desc, smallDesc} {
		if ok, err := repo.Exists(t.Context(), d); !ok || err != nil {
			t.Fatalf("%s not stored: %v", d.Digest, err)
		}
	}
}
