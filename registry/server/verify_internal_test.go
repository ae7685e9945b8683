package server

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

// TestAdoptBlobNeedsProof: the layout storage adopts a file only with a
// proof for its digest and size; without one nothing reaches the store.
func TestAdoptBlobNeedsProof(t *testing.T) {
	data := "the twenty-eight bytes here."
	desc := manifest.Descriptor{Digest: manifest.FromString(data), Size: int64(len(data))}
	v := manifest.NewVerifier(strings.NewReader(data), desc)
	io.Copy(io.Discard, v)
	proof, err := v.Verified()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	s := NewLayoutStorage(root).(*layoutStorage)
	file := func(content string) string {
		p := filepath.Join(root, "upload")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := s.AdoptBlob(manifest.Verified{}, file(data)); !errors.Is(err, manifest.ErrUnverified) {
		t.Fatalf("no proof: %v", err)
	}
	if err := s.AdoptBlob(proof, file(data[6:])); !errors.Is(err, manifest.ErrUnverified) {
		t.Fatalf("a shorter file: %v", err)
	}
	if _, err := s.StatBlob(desc.Digest); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("stored without a proof: %v", err)
	}
	if err := s.AdoptBlob(proof, file(data)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.StatBlob(desc.Digest); err != nil || n != desc.Size {
		t.Fatalf("with its proof: %d, %v", n, err)
	}
}
