package registrytest_test

import (
	"encoding/json"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
)

// attach pushes to repo a manifest of artifactType (config type when
// empty) whose subject is subject, and returns its descriptor.
func (c *client) attach(repo string, subject manifest.Descriptor, artifactType, configType string) manifest.Descriptor {
	c.t.Helper()
	empty := []byte("{}")
	c.pushBlob(repo, empty)
	extra := map[string]any{"subject": subject, "annotations": map[string]string{"k": artifactType + configType}}
	if artifactType != "" {
		extra["artifactType"] = artifactType
	}
	raw := newManifest(manifest.MediaTypeOCIManifest, empty, configType, nil, extra)
	c.pushManifest(repo, string(digestOf(raw)), manifest.MediaTypeOCIManifest, raw).want(c.t, 201)
	return manifest.DescriptorFor(manifest.MediaTypeOCIManifest, raw)
}

func referrersOf(t *testing.T, r reply) []manifest.Descriptor {
	t.Helper()
	r.header(t, "Content-Type", manifest.MediaTypeOCIIndex)
	var idx manifest.Index
	if err := json.Unmarshal(r.body, &idx); err != nil || idx.SchemaVersion != 2 || idx.Manifests == nil {
		t.Fatalf("referrers body %s: %v", r.body, err)
	}
	return idx.Manifests
}

func TestReferrers(t *testing.T) {
	_, c := start(t, nil)
	img := c.pushImage("a", "v1", "1")
	sig := c.attach("a", img.desc, "application/vnd.example.sig", manifest.MediaTypeOCIEmpty)
	sbom := c.attach("a", img.desc, "", "application/vnd.example.sbom.config")
	idxRaw := newIndex(manifest.MediaTypeOCIIndex)
	var idx map[string]any
	json.Unmarshal(idxRaw, &idx)
	idx["subject"] = img.desc
	idxRaw, _ = json.Marshal(idx)
	c.pushManifest("a", "idx", manifest.MediaTypeOCIIndex, idxRaw).want(t, 201)

	got := referrersOf(t, c.do("GET", "/v2/a/referrers/"+string(img.desc.Digest), nil).want(t, 200).header(t, "OCI-Filters-Applied", ""))
	if len(got) != 3 {
		t.Fatalf("%d referrers, want 3: %+v", len(got), got)
	}
	byDigest := map[manifest.Digest]manifest.Descriptor{}
	for _, d := range got {
		byDigest[d.Digest] = d
	}
	if d := byDigest[sig.Digest]; d.ArtifactType != "application/vnd.example.sig" || d.Size != sig.Size || d.Annotations["k"] == "" {
		t.Errorf("signature referrer %+v", d)
	}
	if d := byDigest[sbom.Digest]; d.ArtifactType != "application/vnd.example.sbom.config" {
		t.Errorf("a manifest without artifactType must list its config type: %+v", d)
	}
	if d := byDigest[digestOf(idxRaw)]; d.MediaType != manifest.MediaTypeOCIIndex || d.ArtifactType != "" {
		t.Errorf("index referrer %+v", d)
	}
}

func TestReferrersFilter(t *testing.T) {
	_, c := start(t, nil)
	img := c.pushImage("a", "v1", "1")
	sig := c.attach("a", img.desc, "application/vnd.example.sig", manifest.MediaTypeOCIEmpty)
	c.attach("a", img.desc, "application/vnd.example.sbom", manifest.MediaTypeOCIEmpty)
	r := c.do("GET", "/v2/a/referrers/"+string(img.desc.Digest)+"?artifactType=application/vnd.example.sig", nil)
	got := referrersOf(t, r.want(t, 200).header(t, "OCI-Filters-Applied", "artifactType"))
	if len(got) != 1 || got[0].Digest != sig.Digest {
		t.Fatalf("filtered referrers %+v", got)
	}
}

// Unknown subjects and repositories have an empty list, never 404.
func TestReferrersEmpty(t *testing.T) {
	_, c := start(t, nil)
	d := string(digestOf([]byte("nothing refers to this")))
	for _, repo := range []string{"a", "never/pushed"} {
		if got := referrersOf(t, c.do("GET", "/v2/"+repo+"/referrers/"+d, nil).want(t, 200)); len(got) != 0 {
			t.Fatalf("referrers %+v", got)
		}
	}
}

func TestReferrersDisabled(t *testing.T) {
	_, c := start(t, &registrytest.Options{NoReferrers: true})
	img := c.pushImage("a", "v1", "1")
	c.attach("a", img.desc, "application/vnd.example.sig", manifest.MediaTypeOCIEmpty)
	c.do("GET", "/v2/a/referrers/"+string(img.desc.Digest), nil).want(t, 404)
}
