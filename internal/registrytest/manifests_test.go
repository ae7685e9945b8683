package registrytest_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
)

func TestManifestPutAndGet(t *testing.T) {
	srv, c := start(t, nil)
	img := c.pushImage("a/b", "v1", "1")
	d := string(img.desc.Digest)
	r := c.pushManifest("a/b", "v2", manifest.MediaTypeOCIManifest, img.manifest).want(t, 201)
	r.header(t, "Location", srv.URL+"/v2/a/b/manifests/"+d).header(t, "Docker-Content-Digest", d).header(t, "OCI-Subject", "")
	for _, ref := range []string{"v1", "v2", d} {
		for _, method := range []string{"GET", "HEAD"} {
			r := c.do(method, "/v2/a/b/manifests/"+ref, nil, ociAccept()...).want(t, 200)
			r.header(t, "Content-Type", manifest.MediaTypeOCIManifest).header(t, "Docker-Content-Digest", d)
			r.header(t, "Content-Length", strconv.Itoa(len(img.manifest)))
			if method == "GET" && !bytes.Equal(r.body, img.manifest) {
				t.Fatalf("GET %s: body differs from what was pushed", ref)
			}
		}
	}
}

func TestManifestUnknown(t *testing.T) {
	_, c := start(t, nil)
	c.pushImage("a", "v1", "1")
	c.do("GET", "/v2/a/manifests/nope", nil, ociAccept()...).wantError(t, 404, "MANIFEST_UNKNOWN")
	c.do("GET", "/v2/a/manifests/"+string(digestOf([]byte("x"))), nil, ociAccept()...).wantError(t, 404, "MANIFEST_UNKNOWN")
	c.do("HEAD", "/v2/a/manifests/nope", nil, ociAccept()...).want(t, 404)
	c.do("GET", "/v2/other/manifests/v1", nil, ociAccept()...).wantError(t, 404, "MANIFEST_UNKNOWN")
}

// Blobs a manifest references must be in the repository: each missing one
// is a MANIFEST_BLOB_UNKNOWN error.
func TestManifestBlobsMissing(t *testing.T) {
	_, c := start(t, nil)
	config, layer := []byte(`{"os":"linux"}`), []byte("layer")
	raw := newManifest(manifest.MediaTypeOCIManifest, config, manifest.MediaTypeOCIConfig, [][]byte{layer}, nil)
	r := c.pushManifest("a", "v1", manifest.MediaTypeOCIManifest, raw)
	r.wantError(t, 400, "MANIFEST_BLOB_UNKNOWN")
	if n := bytes.Count(r.body, []byte("MANIFEST_BLOB_UNKNOWN")); n != 2 {
		t.Fatalf("%d MANIFEST_BLOB_UNKNOWN errors, want 2: %s", n, r.body)
	}
	c.pushBlob("elsewhere", config)
	c.pushBlob("elsewhere", layer)
	c.pushManifest("a", "v1", manifest.MediaTypeOCIManifest, raw).wantError(t, 400, "MANIFEST_BLOB_UNKNOWN")
	c.pushManifest("elsewhere", "v1", manifest.MediaTypeOCIManifest, raw).want(t, 201)
}

func TestManifestWrongSize(t *testing.T) {
	_, c := start(t, nil)
	config := []byte(`{"os":"linux"}`)
	c.pushBlob("a", config)
	desc := manifest.DescriptorFor(manifest.MediaTypeOCIConfig, config)
	desc.Size++
	raw, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": manifest.MediaTypeOCIManifest,
		"config": desc, "layers": []any{}})
	c.pushManifest("a", "v1", manifest.MediaTypeOCIManifest, raw).wantError(t, 400, "MANIFEST_INVALID")
}

// An index's children must be manifests of the repository, as in
// distribution.
func TestIndexChildrenMissing(t *testing.T) {
	_, c := start(t, nil)
	img := c.pushImage("a", "v1", "1")
	ghost := manifest.DescriptorFor(manifest.MediaTypeOCIManifest, []byte(`{"never":"pushed"}`))
	bad := newIndex(manifest.MediaTypeOCIIndex, img.desc, ghost)
	c.pushManifest("a", "multi", manifest.MediaTypeOCIIndex, bad).wantError(t, 400, "MANIFEST_BLOB_UNKNOWN")
	good := newIndex(manifest.MediaTypeOCIIndex, img.desc)
	c.pushManifest("a", "multi", manifest.MediaTypeOCIIndex, good).want(t, 201)
	c.pushManifest("b", "multi", manifest.MediaTypeOCIIndex, good).wantError(t, 400, "MANIFEST_BLOB_UNKNOWN")
}

func TestManifestInvalid(t *testing.T) {
	_, c := start(t, nil)
	img := c.pushImage("a", "v1", "1")
	tests := []struct {
		name, contentType string
		body              []byte
	}{
		{"content type disagrees", manifest.MediaTypeDockerManifest, img.manifest},
		{"no content type", "", img.manifest},
		{"json content type", "application/json", img.manifest},
		{"schema 1", "application/vnd.docker.distribution.manifest.v1+prettyjws", []byte(`{"schemaVersion":1,"fsLayers":[]}`)},
		{"not json", manifest.MediaTypeOCIManifest, []byte("{")},
		{"index type on a manifest", manifest.MediaTypeOCIIndex, bytes.Replace(img.manifest, []byte(`"mediaType":"application/vnd.oci.image.manifest.v1+json",`), nil, 1)},
		{"manifests and layers", manifest.MediaTypeOCIManifest, []byte(`{"schemaVersion":2,"manifests":[],"layers":[],"config":{}}`)},
	}
	for _, tt := range tests {
		c.pushManifest("a", "bad", tt.contentType, tt.body).wantError(t, 400, "MANIFEST_INVALID")
	}
	c.do("GET", "/v2/a/manifests/bad", nil, ociAccept()...).want(t, 404)
	huge := make([]byte, manifest.MaxManifestSize+1)
	c.pushManifest("a", "huge", manifest.MediaTypeOCIManifest, huge).wantError(t, 413, "MANIFEST_INVALID")
}

func TestManifestPutByDigest(t *testing.T) {
	_, c := start(t, nil)
	img := c.pushImage("a", "v1", "1")
	c.pushManifest("a", string(img.desc.Digest), manifest.MediaTypeOCIManifest, img.manifest).want(t, 201)
	other := digestOf([]byte("other"))
	c.pushManifest("a", string(other), manifest.MediaTypeOCIManifest, img.manifest).wantError(t, 400, "DIGEST_INVALID")
	sha512 := manifest.NewDigester(manifest.SHA512)
	sha512.Write(img.manifest)
	d512 := string(sha512.Digest())
	c.pushManifest("a", d512, manifest.MediaTypeOCIManifest, img.manifest).want(t, 201).header(t, "Docker-Content-Digest", d512)
	c.do("GET", "/v2/a/manifests/"+d512, nil, ociAccept()...).want(t, 200).header(t, "Docker-Content-Digest", d512)
	tags := c.do("GET", "/v2/a/tags/list", nil).want(t, 200).body
	if string(tags) != `{"name":"a","tags":["v1"]}` {
		t.Fatalf("pushing by digest changed the tags: %s", tags)
	}
}

func TestManifestDelete(t *testing.T) {
	_, c := start(t, nil)
	img := c.pushImage("a", "v1", "1")
	c.pushManifest("a", "v2", manifest.MediaTypeOCIManifest, img.manifest).want(t, 201)
	c.do("DELETE", "/v2/a/manifests/v2", nil).want(t, 202)
	c.do("GET", "/v2/a/manifests/v2", nil, ociAccept()...).wantError(t, 404, "MANIFEST_UNKNOWN")
	c.do("GET", "/v2/a/manifests/v1", nil, ociAccept()...).want(t, 200)
	c.do("DELETE", "/v2/a/manifests/v2", nil).wantError(t, 404, "MANIFEST_UNKNOWN")
	c.do("DELETE", "/v2/a/manifests/"+string(img.desc.Digest), nil).want(t, 202)
	c.do("GET", "/v2/a/manifests/v1", nil, ociAccept()...).wantError(t, 404, "MANIFEST_UNKNOWN")
	c.do("DELETE", "/v2/a/manifests/"+string(img.desc.Digest), nil).wantError(t, 404, "MANIFEST_UNKNOWN")
}

func TestSubjectHeader(t *testing.T) {
	for _, noReferrers := range []bool{false, true} {
		_, c := start(t, &registrytest.Options{NoReferrers: noReferrers})
		img := c.pushImage("a", "v1", "1")
		empty := []byte("{}")
		c.pushBlob("a", empty)
		sig := newManifest(manifest.MediaTypeOCIManifest, empty, manifest.MediaTypeOCIEmpty, nil,
			map[string]any{"subject": img.desc, "artifactType": "application/example"})
		want := string(img.desc.Digest)
		if noReferrers {
			want = ""
		}
		c.pushManifest("a", string(digestOf(sig)), manifest.MediaTypeOCIManifest, sig).want(t, 201).header(t, "OCI-Subject", want)
	}
}
