package manifest_test

import (
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

func dockerManifest() string {
	return `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"` +
		string(cfgDigest) + `","size":6},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"` +
		string(layerDigest) + `","size":5},{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"` +
		string(layerDigest) + `","size":5,"urls":["https://example.com/l"]}]}`
}

func TestToOCIAndBack(t *testing.T) {
	doc, err := manifest.Parse([]byte(dockerManifest()), "")
	if err != nil {
		t.Fatal(err)
	}
	oci, err := manifest.ToOCI(doc)
	if err != nil {
		t.Fatal(err)
	}
	m := oci.Manifest
	if oci.MediaType != manifest.MediaTypeOCIManifest || m.MediaType != manifest.MediaTypeOCIManifest ||
		m.Config.MediaType != manifest.MediaTypeOCIConfig || m.Layers[0].MediaType != manifest.MediaTypeOCILayerGzip ||
		m.Layers[1].MediaType != manifest.MediaTypeOCIForeignLayer || m.Layers[1].URLs[0] != "https://example.com/l" {
		t.Fatalf("ToOCI = %s", oci.Raw)
	}
	if oci.Digest == doc.Digest || oci.Digest != manifest.FromBytes(oci.Raw) {
		t.Fatal("converted document's digest does not describe its bytes")
	}
	same, err := manifest.ToOCI(oci)
	if err != nil || same != oci {
		t.Fatal("ToOCI of an OCI document should return it unchanged")
	}
}

// A Docker manifest that already carries OCI layer types (a zstd layer,
// as containerd writes them) converts, those layers as they are; a type
// with no OCI counterpart is refused by name.
func TestToOCIKeepsOCITypes(t *testing.T) {
	zstd := strings.Replace(dockerManifest(), "application/vnd.docker.image.rootfs.diff.tar.gzip", manifest.MediaTypeOCILayerZstd, 1)
	doc, err := manifest.Parse([]byte(zstd), "")
	if err != nil {
		t.Fatal(err)
	}
	oci, err := manifest.ToOCI(doc)
	if err != nil || oci.Manifest.Layers[0].MediaType != manifest.MediaTypeOCILayerZstd {
		t.Fatalf("ToOCI of a Docker manifest with a zstd layer: %v", err)
	}
	odd := strings.Replace(dockerManifest(), "application/vnd.docker.image.rootfs.diff.tar.gzip", "application/x-odd", 1)
	if doc, err = manifest.Parse([]byte(odd), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.ToOCI(doc); err == nil || !strings.Contains(err.Error(), "application/x-odd") {
		t.Errorf("ToOCI of an unknown layer type: %v, want an error naming it", err)
	}
}

func TestConvertIndex(t *testing.T) {
	doc, err := manifest.Parse([]byte(ociIndex(manifest.MediaTypeDockerManifestList)), "")
	if err != nil {
		t.Fatal(err)
	}
	oci, err := manifest.ToOCI(doc)
	if err != nil || oci.MediaType != manifest.MediaTypeOCIIndex || oci.Index.Manifests[0].Digest != cfgDigest {
		t.Fatalf("%v %s", err, oci.Raw)
	}
}
