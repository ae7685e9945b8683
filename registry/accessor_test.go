package registry_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/skiffoci/skiff/registry"
)

// The document FetchManifest returns is the caller's: changing its bytes
// does not change what a later Fetch of the same digest serves (which
// comes from memory, without a request).
func TestFetchManifestIsTheCallers(t *testing.T) {
	c := &registry.Client{}
	srv, repo := serve(t, nil, c, "a/b")
	im := seed(t, srv, c, "a/b", "v1", 10)
	doc, err := repo.FetchManifest(t.Context(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(doc.Raw)
	doc.Raw[0] = 'X'
	rc, err := repo.Fetch(t.Context(), im.Manifest.Descriptor())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Fetch after FetchManifest: %v; bytes equal: %v", err, bytes.Equal(got, want))
	}
}
