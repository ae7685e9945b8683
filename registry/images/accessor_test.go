package images_test

import (
	"encoding/json"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// richImage stores an image whose config and manifest have every kind of
// field an accessor could share (slices, maps, pointers) and opens it.
func richImage(t *testing.T) (*images.Image, *memStore, manifest.Descriptor) {
	t.Helper()
	m := newMemStore()
	cfg := m.put(manifest.MediaTypeOCIConfig, []byte(`{"architecture":"amd64","os":"linux","os.features":["f"],
		"created":"2024-01-01T00:00:00Z",
		"config":{"Env":["A=1"],"Cmd":["sh"],"Entrypoint":["/init"],"Labels":{"l":"v"},"Volumes":{"/v":{}},
			"ExposedPorts":{"80/tcp":{}},"Healthcheck":{"Test":["CMD","true"]},"Shell":["/bin/sh"],"OnBuild":["RUN x"]},
		"rootfs":{"type":"layers","diff_ids":["`+string(manifest.FromString("l"))+`"]},
		"history":[{"created":"2024-01-01T00:00:00Z","created_by":"x"}]}`))
	layer := m.put(manifest.MediaTypeOCILayerGzip, []byte("l"))
	layer.Annotations = map[string]string{"a": "1"}
	layer.URLs = []string{"https://example.com/l"}
	raw, _ := json.Marshal(manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest, Config: cfg,
		Layers: []manifest.Descriptor{layer}, Annotations: map[string]string{"m": "1"}})
	d := m.put(manifest.MediaTypeOCIManifest, raw)
	img, err := images.OpenDescriptor(t.Context(), m, d)
	if err != nil {
		t.Fatal(err)
	}
	return img, m, d
}

// snapshot is everything an Image's accessors tell, as values.
func snapshot(t *testing.T, img *images.Image) string {
	t.Helper()
	doc, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	rawCfg, _ := img.RawConfig()
	b, err := json.Marshal([]any{doc.Raw, doc.Manifest, rawCfg, img.Config(), img.Layers(), img.Platform()})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestImageManifestIsACopy(t *testing.T) {
	img, _, _ := richImage(t)
	before := snapshot(t, img)
	doc, _ := img.Manifest()
	doc.Raw[0] = 'X'
	doc.Manifest.Layers[0].Digest = "sha256:0"
	doc.Manifest.Layers[0].Annotations["a"] = "changed"
	doc.Manifest.Layers = append(doc.Manifest.Layers[:0], manifest.Descriptor{})
	doc.Manifest.Annotations["m"] = "changed"
	doc.Manifest.Config.Digest = "sha256:1"
	if after := snapshot(t, img); after != before {
		t.Errorf("changing what Manifest returned changed the image:\nbefore %s\nafter  %s", before, after)
	}
}

func TestImageRawConfigIsACopy(t *testing.T) {
	img, _, _ := richImage(t)
	before := snapshot(t, img)
	raw, _ := img.RawConfig()
	raw[0] = 'X'
	if after := snapshot(t, img); after != before {
		t.Errorf("changing what RawConfig returned changed the image")
	}
}

func TestImageConfigIsACopy(t *testing.T) {
	img, _, _ := richImage(t)
	before := snapshot(t, img)
	c := img.Config()
	c.OSFeatures[0] = "changed"
	*c.Created = c.Created.AddDate(1, 0, 0)
	rc := &c.Config
	rc.Env[0], rc.Cmd[0], rc.Entrypoint[0], rc.Shell[0], rc.OnBuild[0] = "B=2", "x", "x", "x", "x"
	rc.Labels["l"], rc.Volumes["/w"], rc.ExposedPorts["1/udp"] = "changed", struct{}{}, struct{}{}
	rc.Healthcheck.Test[0] = "NONE"
	c.RootFS.DiffIDs[0] = "sha256:2"
	*c.History[0].Created = c.History[0].Created.AddDate(1, 0, 0)
	if after := snapshot(t, img); after != before {
		t.Errorf("changing what Config returned changed the image:\nbefore %s\nafter  %s", before, after)
	}
}

func TestImageLayersIsACopy(t *testing.T) {
	img, _, _ := richImage(t)
	before := snapshot(t, img)
	ls := img.Layers()
	ls[0].Annotations["a"] = "changed"
	ls[0].URLs[0] = "https://evil.example/"
	ls[0].Digest = "sha256:3"
	if after := snapshot(t, img); after != before {
		t.Errorf("changing what Layers returned changed the image")
	}
}

func TestImagePlatformIsACopy(t *testing.T) {
	img, _, _ := richImage(t)
	before := snapshot(t, img)
	p := img.Platform()
	p.OS, p.OSFeatures = "changed", append(p.OSFeatures, "x")
	if after := snapshot(t, img); after != before {
		t.Errorf("changing what Platform returned changed the image")
	}
}

// OpenDocument keeps its own copy of the document it is given.
func TestOpenDocumentKeepsACopy(t *testing.T) {
	_, m, d := richImage(t)
	doc, err := manifest.FetchDocument(t.Context(), m, d)
	if err != nil {
		t.Fatal(err)
	}
	img, err := images.OpenDocument(t.Context(), m, doc)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, img)
	doc.Raw[0] = 'X'
	doc.Manifest.Layers[0].Digest = "sha256:4"
	if after := snapshot(t, img); after != before {
		t.Errorf("changing the document given to OpenDocument changed the image")
	}
}

func TestIndexAccessorsAreCopies(t *testing.T) {
	m := newMemStore()
	amd := m.putImage(t, "amd64", 10)
	amd.Annotations = map[string]string{"a": "1"}
	m.tags["multi"] = m.putIndex(amd)
	ix, err := images.OpenIndexFrom(t.Context(), m, "multi")
	if err != nil {
		t.Fatal(err)
	}
	state := func() string {
		doc, err := ix.Document()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal([]any{string(doc.Raw), doc.Index.Manifests, ix.Manifests()})
		return string(b)
	}
	before := state()
	ms := ix.Manifests()
	ms[0].Platform.Architecture = "changed"
	ms[0].Annotations["a"] = "changed"
	ms[0].Digest = "sha256:5"
	doc, _ := ix.Document()
	doc.Raw[0] = 'X'
	doc.Index.Manifests[0].Platform.Architecture = "changed"
	doc.Index.Manifests[0].Annotations["a"] = "changed"
	if after := state(); after != before {
		t.Errorf("changing what Manifests or Document returned changed the index:\nbefore %v\nafter  %v", before, after)
	}
	if _, err := ix.Image(t.Context(), manifest.Platform{OS: "linux", Architecture: "amd64"}); err != nil {
		t.Errorf("the index lost its platform: %v", err)
	}
}
