package images

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

func baseImage(t *testing.T, docker bool) record {
	t.Helper()
	mt, cfgType, layerType := manifest.MediaTypeOCIManifest, manifest.MediaTypeOCIConfig, manifest.MediaTypeOCILayerGzip
	if docker {
		mt, cfgType, layerType = manifest.MediaTypeDockerManifest, manifest.MediaTypeDockerConfig, manifest.MediaTypeDockerLayer
	}
	raw := []byte(`{"architecture":"amd64","os":"linux","docker_version":"24.0","moby.buildkit.buildinfo.v1":"e30=",` +
		`"config":{"Env":["PATH=/bin","A=1"],"Labels":{"keep":"me"},"Healthcheck":{"Test":["NONE"]},"X-Unknown":7},` +
		`"rootfs":{"type":"layers","diff_ids":["` + string(manifest.FromString("l0")) + `","` + string(manifest.FromString("l1")) + `"]},` +
		`"history":[{"created_by":"FROM scratch","empty_layer":true},{"created_by":"ADD l0"},{"created_by":"ENV A=1","empty_layer":true},{"created_by":"ADD l1"}]}`)
	c, err := manifest.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	return record{
		Manifest: manifest.Manifest{SchemaVersion: 2, MediaType: mt, Config: manifest.DescriptorFor(cfgType, raw),
			Layers: []manifest.Descriptor{manifest.DescriptorFor(layerType, []byte("c0")), manifest.DescriptorFor(layerType, []byte("c1"))}},
		Config:    *c,
		ConfigRaw: raw,
	}
}

func TestAppendLayers(t *testing.T) {
	base := baseImage(t, true)
	l := newLayer{Desc: manifest.DescriptorFor(base.layerMediaType(), []byte("new")), DiffID: manifest.FromString("new tar"),
		History: manifest.History{CreatedBy: "skiff append"}}
	if base.layerMediaType() != manifest.MediaTypeDockerLayer {
		t.Fatal("a Docker base must get Docker layers")
	}
	got, err := appendLayers(base, l)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Manifest.Layers) != 3 || got.Config.RootFS.DiffIDs[2] != l.DiffID || got.Config.History[4].CreatedBy != "skiff append" {
		t.Fatalf("appended image: %+v", got)
	}
	if len(base.Manifest.Layers) != 2 || len(base.Config.History) != 4 {
		t.Fatal("AppendLayers changed its input")
	}
	bad := l
	bad.DiffID = "sha256:nope"
	if _, err := appendLayers(base, bad); err == nil {
		t.Fatal("an invalid diffID was accepted")
	}
}

func TestRemoveLayer(t *testing.T) {
	base := baseImage(t, false)
	got, err := removeLayer(base, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Manifest.Layers) != 1 || got.Config.RootFS.DiffIDs[0] != manifest.FromString("l1") {
		t.Fatalf("layers %v diffIDs %v", got.Manifest.Layers, got.Config.RootFS.DiffIDs)
	}
	var steps []string
	for _, h := range got.Config.History {
		steps = append(steps, h.CreatedBy)
	}
	if !slices.Equal(steps, []string{"FROM scratch", "ENV A=1", "ADD l1"}) {
		t.Fatalf("history = %v", steps)
	}
	for _, i := range []int{2, -3} {
		if _, err := removeLayer(base, i); err == nil {
			t.Fatalf("removing layer %d of 2 succeeded", i)
		}
	}
}

// A negative index counts from the top, here as in Image.RemoveLayer:
// -1 is the top layer, -2 (of two) the bottom one.
func TestRemoveLayerNegative(t *testing.T) {
	base := baseImage(t, false)
	for i, kept := range map[int]string{-1: "l0", -2: "l1"} {
		got, err := removeLayer(base, i)
		if err != nil {
			t.Fatalf("removeLayer(%d): %v", i, err)
		}
		if len(got.Manifest.Layers) != 1 || got.Config.RootFS.DiffIDs[0] != manifest.FromString(kept) {
			t.Errorf("removeLayer(%d) kept %v, want %s", i, got.Config.RootFS.DiffIDs, kept)
		}
	}
}

func TestEditConfig(t *testing.T) {
	base := baseImage(t, false)
	user, wd := "1000:1000", "/app"
	when := time.Unix(1700000000, 0)
	got := editConfig(base, ConfigChanges{
		Env: []string{"A=2", "B=3", "PATH"}, Entrypoint: []string{"/app/run"}, Cmd: []string{},
		User: &user, WorkingDir: &wd, Labels: map[string]string{"new": "x", "keep": ""},
		ExposedPorts: []string{"8080", "53/udp"}, Created: &when, History: &manifest.History{CreatedBy: "skiff mutate"},
	})
	rc := got.Config.Config
	if !slices.Equal(rc.Env, []string{"A=2", "B=3"}) || rc.Entrypoint[0] != "/app/run" || rc.Cmd == nil || len(rc.Cmd) != 0 ||
		rc.User != user || rc.WorkingDir != wd || rc.Labels["new"] != "x" || len(rc.Labels) != 1 || len(rc.ExposedPorts) != 2 ||
		!got.Config.Created.Equal(when) || !got.Config.History[4].EmptyLayer {
		t.Fatalf("edited config: %+v", rc)
	}
	if !slices.Equal(base.Config.Config.Env, []string{"PATH=/bin", "A=1"}) || base.Config.Config.Labels["keep"] != "me" {
		t.Fatal("EditConfig changed its input")
	}
}

func TestEncodeKeepsUnknownFields(t *testing.T) {
	base := baseImage(t, false)
	cfg, doc, err := editConfig(base, ConfigChanges{Env: []string{"Z=9"}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"moby.buildkit.buildinfo.v1":"e30="`, `"X-Unknown":7`, `"docker_version":"24.0"`, `"Z=9"`, `"Healthcheck"`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("encoded config lost %s: %s", want, cfg)
		}
	}
	if doc.Manifest.Config.Digest != manifest.FromBytes(cfg) || doc.Manifest.Config.MediaType != manifest.MediaTypeOCIConfig {
		t.Fatal("the manifest does not point at the new config")
	}
	var back manifest.Config
	if err := json.Unmarshal(cfg, &back); err != nil || back.RootFS.DiffIDs[1] != manifest.FromString("l1") {
		t.Fatalf("re-read config: %v", err)
	}
	again, _, _ := editConfig(base, ConfigChanges{Env: []string{"Z=9"}}).Encode()
	if string(again) != string(cfg) {
		t.Fatal("encoding is not deterministic")
	}
}
