package images_test

import (
	"encoding/json"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// TestCopyEveryPlatformKeepsIndex: naming every platform of an index, in
// any order, copies the index as it is, so its digest (and what signs it)
// stays; naming some of them still makes a new index.
func TestCopyEveryPlatformKeepsIndex(t *testing.T) {
	src, dst := newMemStore(), newMemStore()
	root := src.putIndex(src.putImage(t, "amd64", 10), src.putImage(t, "arm64", 11), src.putImage(t, "s390x", 12))
	var every []manifest.Platform
	for _, p := range []string{"linux/s390x", "linux/amd64", "linux/arm64"} {
		pl, _ := manifest.ParsePlatform(p)
		every = append(every, pl)
	}
	got, err := images.CopyDescriptor(t.Context(), dst, src, root, &images.CopyOptions{Platforms: every})
	if err != nil || got.Digest != root.Digest {
		t.Fatalf("every platform: copied %s, %v; want the index %s", got.Digest, err, root.Digest)
	}
	got, err = images.CopyDescriptor(t.Context(), dst, src, root, &images.CopyOptions{Platforms: every[:2]})
	if err != nil || got.Digest == root.Digest {
		t.Fatalf("two platforms: copied %s, %v; want a new index", got.Digest, err)
	}
}

// dockerImage stores a Docker-typed image and returns its descriptor.
func dockerImage(t *testing.T, m *memStore, arch string) manifest.Descriptor {
	t.Helper()
	cfg := m.put(manifest.MediaTypeDockerConfig, []byte(`{"architecture":"`+arch+`","os":"linux"}`))
	layer := m.put(manifest.MediaTypeDockerLayer, []byte(arch+" layer"))
	raw, _ := json.Marshal(manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeDockerManifest, Config: cfg, Layers: []manifest.Descriptor{layer}})
	d := m.put(manifest.MediaTypeDockerManifest, raw)
	d.Platform = &manifest.Platform{OS: "linux", Architecture: arch}
	return d
}

// TestGraphToOCI: a Docker manifest list and its manifests come out with
// OCI media types, the index naming the converted manifests; blobs keep
// their digests; the converted graph copies and verifies.
func TestGraphToOCI(t *testing.T) {
	src, dst := newMemStore(), newMemStore()
	raw, _ := json.Marshal(manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeDockerManifestList,
		Manifests: []manifest.Descriptor{dockerImage(t, src, "amd64"), dockerImage(t, src, "arm64")}})
	root := src.put(manifest.MediaTypeDockerManifestList, raw)
	g, err := images.Walk(t.Context(), src, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	oci, err := g.ToOCI()
	if err != nil {
		t.Fatal(err)
	}
	if oci.Root.MediaType != manifest.MediaTypeOCIIndex || oci.Root.Digest == root.Digest {
		t.Fatalf("root %s %s", oci.Root.MediaType, oci.Root.Digest)
	}
	docs := map[manifest.Digest]*manifest.Document{}
	for _, d := range oci.Docs {
		docs[d.Digest] = d
	}
	for _, e := range oci.Root.Index.Manifests {
		child := docs[e.Digest]
		if child == nil || e.MediaType != manifest.MediaTypeOCIManifest || child.Manifest.Config.MediaType != manifest.MediaTypeOCIConfig ||
			child.Manifest.Layers[0].MediaType != manifest.MediaTypeOCILayerGzip || e.Platform == nil {
			t.Fatalf("entry %+v: converted child %+v", e, child)
		}
		if _, ok := src.blobs[child.Manifest.Layers[0].Digest]; !ok {
			t.Errorf("layer digest changed: %s", child.Manifest.Layers[0].Digest)
		}
	}
	if err := images.CopyGraph(t.Context(), dst, src, oci, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := images.Walk(t.Context(), dst, oci.Root.Descriptor(), nil); err != nil {
		t.Fatalf("the copy does not walk: %v", err)
	}
}
