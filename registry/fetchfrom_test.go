package registry_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// TestFetchFrom: a blob read from an offset, with a Range request, is the
// rest of the blob, verifiable with the first bytes; a registry that
// ignores Range gives the same bytes (skipped up to the offset), and
// wrong bytes after the offset fail the blob's digest.
func TestFetchFrom(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, nil, c, "a/b")
	im := seed(t, srv, nil, "a/b", "v1", 700<<10)
	layer := im.Manifest.Manifest.Layers[0]
	blob := im.Blobs[layer.Digest]
	off := int64(300 << 10)
	read := func() ([]byte, error) {
		rc, err := repo.FetchFrom(t.Context(), layer, off)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		prefix := manifest.NewDigester("sha256")
		prefix.Write(blob[:off])
		return io.ReadAll(manifest.NewResumedVerifier(rc, layer, prefix, off))
	}
	got, err := read()
	if err != nil || !bytes.Equal(got, blob[off:]) {
		t.Fatalf("FetchFrom %d: %d bytes, %v", off, len(got), err)
	}
	if sent := srv.Log.BytesOut(nil); sent != layer.Size-off {
		t.Fatalf("the registry sent %d bytes for the last %d", sent, layer.Size-off)
	}
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), NoRange: true, Times: 1})
	if got, err := read(); err != nil || !bytes.Equal(got, blob[off:]) {
		t.Fatalf("FetchFrom from a registry without Range: %v", err)
	}
	// Wrong bytes after the offset fail the whole blob's digest.
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), WrongBytes: true, Times: 1})
	if _, err := read(); !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("wrong bytes after the offset: %v", err)
	}
	// At the end there is nothing left to fetch.
	rc, err := repo.FetchFrom(t.Context(), layer, layer.Size)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(rc); len(b) != 0 {
		t.Fatalf("FetchFrom at the end gave %d bytes", len(b))
	}
}
