package manifest_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// asJSON is v as it would be written: what must not change.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func richDescriptor() manifest.Descriptor {
	d := manifest.DescriptorFor(manifest.MediaTypeOCIManifest, []byte("x"))
	d.URLs, d.Annotations, d.Data = []string{"https://a"}, map[string]string{"k": "v"}, []byte("x")
	d.Platform = &manifest.Platform{OS: "linux", Architecture: "amd64", OSFeatures: []string{"f"}}
	return d
}

func TestDescriptorClone(t *testing.T) {
	d := richDescriptor()
	before := asJSON(t, d)
	c := d.Clone()
	c.URLs[0], c.Annotations["k"], c.Data[0] = "https://b", "w", 'y'
	c.Platform.Architecture, c.Platform.OSFeatures[0] = "arm64", "g"
	if after := asJSON(t, d); after != before {
		t.Errorf("changing a clone changed the descriptor:\nbefore %s\nafter  %s", before, after)
	}
}

func TestDocumentClone(t *testing.T) {
	subject := richDescriptor()
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest,
		Config: manifest.DescriptorFor(manifest.MediaTypeOCIConfig, []byte("{}")), Layers: []manifest.Descriptor{richDescriptor()},
		Subject: &subject, Annotations: map[string]string{"a": "1"}}
	doc, err := manifest.Marshal(m.MediaType, &m)
	if err != nil {
		t.Fatal(err)
	}
	ix := manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: []manifest.Descriptor{richDescriptor()},
		Subject: &subject, Annotations: map[string]string{"a": "1"}}
	idoc, err := manifest.Marshal(ix.MediaType, &ix)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*manifest.Document{doc, idoc} {
		before := asJSON(t, d)
		c := d.Clone()
		c.Raw[0] = 'X'
		if c.Manifest != nil {
			c.Manifest.Layers[0].Annotations["k"] = "w"
			c.Manifest.Layers[0].Platform.OS = "windows"
			c.Manifest.Subject.Digest = "sha256:0"
			c.Manifest.Annotations["a"] = "2"
			c.Manifest.Config.Size = 7
		} else {
			c.Index.Manifests[0].Annotations["k"] = "w"
			c.Index.Subject.Annotations["k"] = "w"
			c.Index.Annotations["a"] = "2"
		}
		if after := asJSON(t, d); after != before {
			t.Errorf("changing a clone changed the document:\nbefore %s\nafter  %s", before, after)
		}
	}
	if (*manifest.Document)(nil).Clone() != nil {
		t.Error("a nil document's clone is not nil")
	}
}

func TestConfigClone(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rc := manifest.RuntimeConfig{Env: []string{"A=1"}, Entrypoint: []string{"e"}, Cmd: []string{"c"}, Shell: []string{"s"}, OnBuild: []string{"o"},
		Labels: map[string]string{"l": "v"}, Volumes: map[string]struct{}{"/v": {}}, ExposedPorts: map[string]struct{}{"80/tcp": {}},
		Healthcheck: &manifest.Healthcheck{Test: []string{"CMD", "true"}}}
	cc := rc
	c := manifest.Config{Created: &now, OSFeatures: []string{"f"}, Config: rc, ContainerConfig: &cc,
		RootFS:  manifest.RootFS{Type: "layers", DiffIDs: []manifest.Digest{manifest.FromString("l")}},
		History: []manifest.History{{Created: &now, CreatedBy: "x"}}}
	before := asJSON(t, c)
	k := c.Clone()
	*k.Created = now.AddDate(1, 0, 0)
	k.OSFeatures[0] = "g"
	k.Config.Env[0], k.Config.Entrypoint[0], k.Config.Cmd[0], k.Config.Shell[0], k.Config.OnBuild[0] = "B", "x", "x", "x", "x"
	k.Config.Labels["l"], k.Config.Volumes["/w"], k.Config.ExposedPorts["1/udp"] = "w", struct{}{}, struct{}{}
	k.Config.Healthcheck.Test[0], k.Config.Healthcheck.Retries = "NONE", 3
	k.ContainerConfig.Cmd[0], k.ContainerConfig.Healthcheck.Test[1] = "y", "false"
	k.RootFS.DiffIDs[0] = "sha256:0"
	*k.History[0].Created = now.AddDate(2, 0, 0)
	if after := asJSON(t, c); after != before {
		t.Errorf("changing a clone changed the config:\nbefore %s\nafter  %s", before, after)
	}
}

// Subject and Referrer hand out copies: changing them changes nothing of
// the document.
func TestSubjectIsACopy(t *testing.T) {
	subject := richDescriptor()
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest,
		Config: manifest.DescriptorFor(manifest.MediaTypeOCIConfig, []byte("{}")), Layers: []manifest.Descriptor{},
		Subject: &subject, Annotations: map[string]string{"a": "1"}}
	doc, err := manifest.Marshal(m.MediaType, &m)
	if err != nil {
		t.Fatal(err)
	}
	before := asJSON(t, doc)
	s, entry := doc.Subject()
	s.Digest, s.Annotations["k"] = "sha256:0", "w"
	entry.Annotations["a"] = "2"
	s, entry = doc.Referrer()
	s.Platform.OS = "windows"
	entry.Annotations["a"] = "3"
	if after := asJSON(t, doc); after != before {
		t.Errorf("changing what Subject or Referrer returned changed the document:\nbefore %s\nafter  %s", before, after)
	}
}

func TestConfigPlatformIsACopy(t *testing.T) {
	c := manifest.Config{OS: "windows", Architecture: "amd64", OSFeatures: []string{"win32k"}}
	p := c.Platform()
	p.OSFeatures[0] = "changed"
	if c.OSFeatures[0] != "win32k" {
		t.Errorf("changing what Platform returned changed the config's os.features: %v", c.OSFeatures)
	}
}
