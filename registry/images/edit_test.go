package images_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// EditConfigFunc reaches every field of the config (here volumes, a
// health check and the platform) in one call; RootFS stays the layers',
// the original image stays as it was, and the result writes and reads
// back.
func TestEditConfigFunc(t *testing.T) {
	img, _, _ := richImage(t)
	before := snapshot(t, img)
	edited := img.EditConfigFunc(func(c *manifest.Config) {
		c.Config.Volumes = map[string]struct{}{"/data": {}}
		c.Config.Healthcheck = &manifest.Healthcheck{Test: []string{"CMD", "true"}, Interval: 30 * time.Second}
		c.OS, c.Architecture = "linux", "arm64"
		c.RootFS.DiffIDs[0] = "sha256:0" // ignored: the layers decide
		c.RootFS.DiffIDs = append(c.RootFS.DiffIDs, "sha256:1")
	})
	if after := snapshot(t, img); after != before {
		t.Error("EditConfigFunc changed the image it was called on")
	}
	c := edited.Config()
	if _, ok := c.Config.Volumes["/data"]; !ok || c.Config.Healthcheck == nil || c.Config.Healthcheck.Interval != 30*time.Second {
		t.Errorf("config %+v: volume or health check missing", c.Config)
	}
	if p := edited.Platform(); p.Architecture != "arm64" {
		t.Errorf("platform %v, want linux/arm64", p)
	}
	if !slices.Equal(c.RootFS.DiffIDs, img.Config().RootFS.DiffIDs) {
		t.Errorf("diffIDs %v, want the layers' %v", c.RootFS.DiffIDs, img.Config().RootFS.DiffIDs)
	}
	dst := newMemStore()
	d, err := edited.Write(t.Context(), dst, "v", nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := images.OpenDescriptor(t.Context(), dst, d)
	if err != nil || back.Config().Config.Healthcheck == nil {
		t.Fatalf("read back: %v", err)
	}
}

// Annotate sets and removes manifest annotations; a Docker image becomes
// OCI, its layers the same bytes.
func TestAnnotateImage(t *testing.T) {
	img, _, _ := richImage(t) // annotated m=1
	got, err := img.Annotate(map[string]string{"org.opencontainers.image.source": "https://example.com/src", "m": ""})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := got.Manifest()
	if a := doc.Manifest.Annotations; len(a) != 1 || a["org.opencontainers.image.source"] != "https://example.com/src" {
		t.Errorf("annotations %v, want only the source", a)
	}
	if orig, _ := img.Manifest(); orig.Manifest.Annotations["m"] != "1" {
		t.Error("Annotate changed the image it was called on")
	}

	m := newMemStore()
	docker, err := images.OpenDescriptor(t.Context(), m, dockerImage(t, m, "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	oci, err := docker.Annotate(map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ = oci.Manifest()
	if doc.MediaType != manifest.MediaTypeOCIManifest || doc.Manifest.Layers[0].MediaType != manifest.MediaTypeOCILayerGzip ||
		doc.Manifest.Layers[0].Digest != docker.Layers()[0].Digest || doc.Manifest.Annotations["k"] != "v" {
		t.Errorf("annotated Docker image: %s", doc.Raw)
	}
}

// Index.Annotate sets the index's own annotations; the entries stay; a
// Docker manifest list becomes an OCI index; the index writes.
func TestAnnotateIndex(t *testing.T) {
	m := newMemStore()
	list, _ := json.Marshal(manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeDockerManifestList,
		Manifests: []manifest.Descriptor{dockerImage(t, m, "amd64"), dockerImage(t, m, "arm64")}})
	m.tags["list"] = m.put(manifest.MediaTypeDockerManifestList, list)
	ix, err := images.OpenIndexFrom(t.Context(), m, "list")
	if err != nil {
		t.Fatal(err)
	}
	annotated := ix.Annotate(map[string]string{"k": "v"})
	doc, err := annotated.Document()
	if err != nil {
		t.Fatal(err)
	}
	if doc.MediaType != manifest.MediaTypeOCIIndex || doc.Index.Annotations["k"] != "v" ||
		!strings.Contains(string(doc.Raw), `"annotations":{"k":"v"}`) || len(doc.Index.Manifests) != 2 {
		t.Errorf("annotated index: %s", doc.Raw)
	}
	if orig, _ := ix.Document(); orig.MediaType != manifest.MediaTypeDockerManifestList || orig.Index.Annotations != nil {
		t.Error("Annotate changed the index it was called on")
	}
	removed, _ := annotated.Annotate(map[string]string{"k": ""}).Document()
	if removed.Index.Annotations != nil {
		t.Errorf("an empty value did not remove the annotation: %s", removed.Raw)
	}
	dst := newMemStore()
	if d, err := annotated.Write(t.Context(), dst, "list", nil); err != nil || d.Digest != doc.Digest {
		t.Fatalf("Write: %v, %s", err, d.Digest)
	}
}
