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
	back, err := manifest.ToDocker(oci)
	if err != nil {
		t.Fatal(err)
	}
	if back.MediaType != manifest.MediaTypeDockerManifest || back.Manifest.Layers[1].MediaType != manifest.MediaTypeDockerForeignLayer {
		t.Fatalf("ToDocker = %s", back.Raw)
	}
	same, err := manifest.ToOCI(oci)
	if err != nil || same != oci {
		t.Fatal("ToOCI of an OCI document should return it unchanged")
	}
}

func TestToDockerRefusesWhatDockerCannotSay(t *testing.T) {
	zstd := strings.Replace(ociManifest(manifest.MediaTypeOCIManifest), "tar+gzip", "tar+zstd", 1)
	withSubject := strings.Replace(ociManifest(manifest.MediaTypeOCIManifest), `"layers"`,
		`"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"`+string(cfgDigest)+`","size":1},"layers"`, 1)
	for name, raw := range map[string]string{"zstd": zstd, "subject": withSubject} {
		doc, err := manifest.Parse([]byte(raw), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = manifest.ToDocker(doc)
		if err == nil {
			t.Errorf("%s: ToDocker succeeded", name)
		} else if name == "zstd" && !strings.Contains(err.Error(), "Docker's schema 2 has no zstd layer type") {
			t.Errorf("zstd: error %q does not say why", err)
		}
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
