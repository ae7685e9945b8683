package manifest_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

var (
	cfgDigest   = manifest.FromString("config")
	layerDigest = manifest.FromString("layer")
)

func ociManifest(mediaType string) string {
	mt := ""
	if mediaType != "" {
		mt = `"mediaType":"` + mediaType + `",`
	}
	return `{"schemaVersion":2,` + mt + `"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` +
		string(cfgDigest) + `","size":6},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` +
		string(layerDigest) + `","size":5}]}`
}

func ociIndex(mediaType string) string {
	mt := ""
	if mediaType != "" {
		mt = `"mediaType":"` + mediaType + `",`
	}
	return `{"schemaVersion":2,` + mt + `"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` +
		string(cfgDigest) + `","size":100,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}`
}

func TestParseKinds(t *testing.T) {
	tests := []struct {
		name, raw, ct, want string
		index               bool
	}{
		{"oci manifest", ociManifest(manifest.MediaTypeOCIManifest), manifest.MediaTypeOCIManifest, manifest.MediaTypeOCIManifest, false},
		{"oci manifest without mediaType", ociManifest(""), manifest.MediaTypeOCIManifest, manifest.MediaTypeOCIManifest, false},
		{"no mediaType no content type", ociManifest(""), "", manifest.MediaTypeOCIManifest, false},
		{"generic content type", ociManifest(manifest.MediaTypeDockerManifest), "application/json", manifest.MediaTypeDockerManifest, false},
		{"content type parameters", ociManifest(manifest.MediaTypeOCIManifest), manifest.MediaTypeOCIManifest + "; charset=utf-8", manifest.MediaTypeOCIManifest, false},
		{"docker manifest", ociManifest(manifest.MediaTypeDockerManifest), manifest.MediaTypeDockerManifest, manifest.MediaTypeDockerManifest, false},
		{"oci index", ociIndex(manifest.MediaTypeOCIIndex), manifest.MediaTypeOCIIndex, manifest.MediaTypeOCIIndex, true},
		{"index by shape", ociIndex(""), "", manifest.MediaTypeOCIIndex, true},
		{"docker list", ociIndex(manifest.MediaTypeDockerManifestList), "", manifest.MediaTypeDockerManifestList, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := manifest.Parse([]byte(tt.raw), tt.ct)
			if err != nil {
				t.Fatal(err)
			}
			if doc.MediaType != tt.want || doc.IsIndex() != tt.index || string(doc.Raw) != tt.raw {
				t.Fatalf("got %s index=%v", doc.MediaType, doc.IsIndex())
			}
			if doc.Digest != manifest.FromString(tt.raw) || doc.Descriptor().Size != int64(len(tt.raw)) {
				t.Fatalf("descriptor %+v does not describe the raw bytes", doc.Descriptor())
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	doc, err := manifest.Parse([]byte(ociIndex("")), "")
	if err != nil {
		t.Fatal(err)
	}
	p := doc.Index.Manifests[0].Platform
	if p == nil || p.String() != "linux/arm64/v8" {
		t.Fatalf("platform = %v", p)
	}
	doc, err = manifest.Parse([]byte(ociManifest("")), "")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Manifest.Config.Digest != cfgDigest || doc.Manifest.Layers[0].Size != 5 {
		t.Fatalf("manifest = %+v", doc.Manifest)
	}
}

func TestParseRejects(t *testing.T) {
	both := strings.Replace(ociIndex(""), `"manifests"`, `"layers":[],"manifests"`, 1)
	bothConfig := strings.Replace(ociIndex(""), `"manifests"`, `"config":{},"manifests"`, 1)
	badLayer := strings.Replace(ociManifest(""), string(layerDigest), "sha256:../../etc/passwd", 1)
	upperLayer := strings.Replace(ociManifest(""), layerDigest.Hex(), strings.ToUpper(layerDigest.Hex()), 1)
	negSize := strings.Replace(ociManifest(""), `"size":5`, `"size":-5`, 1)
	badMT := strings.Replace(ociManifest(""), `"application/vnd.oci.image.layer.v1.tar+gzip"`, `"not a media type"`, 1)
	badChild := strings.Replace(ociIndex(""), string(cfgDigest), "sha256:abc", 1)
	tests := []struct {
		name, raw, ct string
		want          error
		text          string
	}{
		{"manifests and layers", both, "", manifest.ErrAmbiguous, "both"},
		{"manifests and config", bothConfig, manifest.MediaTypeOCIIndex, manifest.ErrAmbiguous, "both"},
		{"mediaType disagrees with Content-Type", ociManifest(manifest.MediaTypeOCIManifest), manifest.MediaTypeOCIIndex, manifest.ErrAmbiguous, "Content-Type"},
		{"docker vs oci", ociManifest(manifest.MediaTypeDockerManifest), manifest.MediaTypeOCIManifest, manifest.ErrAmbiguous, "Content-Type"},
		{"index type on manifest shape", ociManifest(""), manifest.MediaTypeOCIIndex, manifest.ErrAmbiguous, "does not fit"},
		{"manifest type on index shape", ociIndex(""), manifest.MediaTypeDockerManifest, manifest.ErrAmbiguous, "does not fit"},
		{"schema1 content type", `{"schemaVersion":1,"fsLayers":[]}`, "application/vnd.docker.distribution.manifest.v1+prettyjws", manifest.ErrSchema1, "schema 1"},
		{"schema1 body only", `{"schemaVersion":1,"name":"x","fsLayers":[]}`, "application/json", manifest.ErrSchema1, "schema 1"},
		{"schema1 disguised", `{"schemaVersion":2,"fsLayers":[{"blobSum":"x"}]}`, manifest.MediaTypeDockerManifest, manifest.ErrSchema1, "schema 1"},
		{"artifact manifest", `{"schemaVersion":2,"mediaType":"application/vnd.oci.artifact.manifest.v1+json","blobs":[]}`, "", manifest.ErrUnsupportedMedia, "artifact"},
		{"bad layer digest", badLayer, "", manifest.ErrInvalidDigest, "layer 0"},
		{"upper-case layer digest", upperLayer, "", manifest.ErrInvalidDigest, "lower-case"},
		{"bad index child", badChild, "", manifest.ErrInvalidDigest, "index entry 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.Parse([]byte(tt.raw), tt.ct)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("err = %v; want %v mentioning %q", err, tt.want, tt.text)
			}
		})
	}
	for name, raw := range map[string]string{
		"negative size": negSize, "bad media type": badMT, "not json": "{", "trailing": ociIndex("") + "{}",
		"schemaVersion 3": `{"schemaVersion":3,"manifests":[]}`, "no schemaVersion": `{"manifests":[]}`, "array": `[]`,
	} {
		if _, err := manifest.Parse([]byte(raw), ""); err == nil {
			t.Errorf("%s: Parse succeeded", name)
		}
	}
}

func TestParseSizeLimit(t *testing.T) {
	big := `{"schemaVersion":2,"manifests":[],"annotations":{"x":"` + strings.Repeat("a", manifest.MaxManifestSize) + `"}}`
	_, err := manifest.Parse([]byte(big), "")
	var le *manifest.LimitError
	if !errors.As(err, &le) || le.Limit != manifest.MaxManifestSize {
		t.Fatalf("err = %v, want a LimitError", err)
	}
}

func TestParseConfig(t *testing.T) {
	raw := `{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Entrypoint":["/bin/sh"],"ExposedPorts":{"80/tcp":{}},"Labels":{"a":"b"},"StopSignal":"SIGTERM","User":"1000","WorkingDir":"/w","Volumes":{"/data":{}}},"rootfs":{"type":"layers","diff_ids":["` + string(layerDigest) + `"]},"history":[{"created_by":"x","empty_layer":true}],"created":"2024-01-02T03:04:05Z"}`
	c, err := manifest.ParseConfig([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if c.Platform().String() != "linux/amd64" || c.Config.Env[0] != "PATH=/bin" || c.RootFS.DiffIDs[0] != layerDigest ||
		c.Config.User != "1000" || c.Config.WorkingDir != "/w" || !c.History[0].EmptyLayer || c.Created.Year() != 2024 {
		t.Fatalf("config = %+v", c)
	}
	if _, ok := c.Config.Volumes["/data"]; !ok {
		t.Fatal("volumes lost")
	}
	out, _ := json.Marshal(c)
	c2, err := manifest.ParseConfig(out)
	if err != nil || c2.Config.StopSignal != "SIGTERM" || c2.Config.Labels["a"] != "b" {
		t.Fatalf("round trip: %v %+v", err, c2)
	}
	bad := strings.Replace(raw, string(layerDigest), "sha256:zz", 1)
	if _, err := manifest.ParseConfig([]byte(bad)); !errors.Is(err, manifest.ErrInvalidDigest) {
		t.Fatalf("bad diff_id: %v", err)
	}
	if _, err := manifest.ParseConfig(make([]byte, manifest.MaxConfigSize+1)); err == nil {
		t.Fatal("oversized config accepted")
	}
}

func TestDescriptorData(t *testing.T) {
	d := manifest.DescriptorFor(manifest.MediaTypeOCIEmpty, []byte("{}"))
	d.Data = []byte("{}")
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	d.Data = []byte("{]")
	if err := d.Validate(); !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("wrong data: %v", err)
	}
	d.Data = []byte("{ }")
	if err := d.Validate(); !errors.Is(err, manifest.ErrSizeMismatch) {
		t.Fatalf("wrong data size: %v", err)
	}
}
