package images_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// TestArtifactIntoDockerArchive copies an artifact (empty config, an
// artifactType) into a docker-archive: refused, naming its type and what
// to use instead, and no file is written; an oci-archive takes it.
func TestArtifactIntoDockerArchive(t *testing.T) {
	dir := t.TempDir()
	l, err := layout.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	empty := manifest.DescriptorFor(manifest.MediaTypeOCIEmpty, []byte("{}"))
	file := manifest.DescriptorFor(manifest.MediaTypeOCILayer, []byte("data"))
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest, ArtifactType: "application/vnd.example.model",
		Config: empty, Layers: []manifest.Descriptor{file}}
	doc, err := manifest.Marshal(manifest.MediaTypeOCIManifest, &m)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		d    manifest.Descriptor
		data []byte
	}{{empty, []byte("{}")}, {file, []byte("data")}, {doc.Descriptor(), doc.Raw}} {
		if err := l.Push(t.Context(), b.d, bytes.NewReader(b.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Tag(t.Context(), doc.Descriptor(), "1"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "x.tar")
	_, err = images.Copy(t.Context(), "oci:"+dir+":1", "docker-archive:"+out, nil)
	if err == nil || !strings.Contains(err.Error(), "application/vnd.example.model") || !strings.Contains(err.Error(), "skiff artifact pull") || !strings.Contains(err.Error(), "oci:") {
		t.Errorf("Copy into a docker-archive: %v, want a refusal naming the artifact type and the way out", err)
	}
	if _, err := os.Lstat(out); err == nil {
		t.Error("the refused copy wrote the archive")
	}
	if _, err := images.Copy(t.Context(), "oci:"+dir+":1", "oci-archive:"+out, nil); err != nil {
		t.Errorf("Copy into an oci-archive: %v", err)
	}
}
