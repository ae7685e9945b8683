package registrytest_test

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// A step of the comparison script: a request, made against both
// registries, whose answers must agree on status, first error code and
// the headers listed (values for exact, presence for present).
type step struct {
	name    string
	do      func(c *client) reply
	exact   []string
	present []string
}

// TestCompareWithDistribution runs one script against this registry and
// against a real distribution registry (docker-registry 2.8, deletes
// enabled) whose base URL is in REGISTRYTEST_COMPARE_URL, and checks they
// answer alike. Where they differ on purpose (see README.md) the script
// does not go.
func TestCompareWithDistribution(t *testing.T) {
	base := os.Getenv("REGISTRYTEST_COMPARE_URL")
	if base == "" {
		t.Skip("REGISTRYTEST_COMPARE_URL is not set: no distribution registry to compare with")
	}
	_, ours := start(t, nil)
	theirs := &client{t: t, base: strings.TrimSuffix(base, "/"), hc: ours.hc}
	repo := "cmp/" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, s := range compareScript(repo) {
		a := s.do(ours)
		b := s.do(theirs)
		compareReplies(t, s, a, b)
	}
}

func compareReplies(t *testing.T, s step, a, b reply) {
	t.Helper()
	if a.StatusCode != b.StatusCode || firstCode(a) != firstCode(b) {
		t.Errorf("%s: ours %d %s, distribution %d %s", s.name, a.StatusCode, firstCode(a), b.StatusCode, firstCode(b))
	}
	for _, h := range s.exact {
		if a.Header.Get(h) != b.Header.Get(h) {
			t.Errorf("%s: %s ours %q, distribution %q", s.name, h, a.Header.Get(h), b.Header.Get(h))
		}
	}
	for _, h := range s.present {
		if (a.Header.Get(h) == "") != (b.Header.Get(h) == "") {
			t.Errorf("%s: %s ours %q, distribution %q", s.name, h, a.Header.Get(h), b.Header.Get(h))
		}
	}
}

func firstCode(r reply) string {
	var eb struct{ Errors []struct{ Code string } }
	if json.Unmarshal(r.body, &eb) != nil || len(eb.Errors) == 0 {
		return ""
	}
	return eb.Errors[0].Code
}

// compareScript returns the steps of the comparison: uploads and blobs,
// then manifests.
func compareScript(repo string) []step {
	return append(blobSteps(repo), manifestSteps(repo)...)
}

var (
	cmpBlob   = []byte("hello")
	cmpConfig = []byte(`{"os":"linux","architecture":"amd64"}`)
	cmpLayer  = []byte("layer bytes")
)

func blobSteps(repo string) []step {
	d, v2 := string(digestOf(cmpBlob)), "/v2/"+repo
	blob := cmpBlob
	octet := []string{"Content-Type", "application/octet-stream"}
	return []step{
		{"ping", func(c *client) reply { return c.do("GET", "/v2/", nil) },
			[]string{"Docker-Distribution-API-Version"}, nil},
		{"POST upload", func(c *client) reply { return c.do("POST", v2+"/blobs/uploads/", nil) },
			[]string{"Range", "Content-Length"}, []string{"Location", "Docker-Upload-UUID"}},
		{"PATCH chunk", func(c *client) reply {
			loc := c.do("POST", v2+"/blobs/uploads/", nil).Header.Get("Location")
			return c.do("PATCH", loc, blob[:3], append(octet, "Content-Range", "0-2")...)
		}, []string{"Range"}, []string{"Location", "Docker-Upload-UUID"}},
		{"PATCH stream", func(c *client) reply {
			loc := c.do("POST", v2+"/blobs/uploads/", nil).Header.Get("Location")
			return c.do("PATCH", loc, blob, octet...)
		}, []string{"Range"}, []string{"Location"}},
		{"upload status", func(c *client) reply {
			loc := c.do("POST", v2+"/blobs/uploads/", nil).Header.Get("Location")
			loc = c.do("PATCH", loc, blob[:3], append(octet, "Content-Range", "0-2")...).Header.Get("Location")
			return c.do("GET", loc, nil)
		}, []string{"Range"}, []string{"Location", "Docker-Upload-UUID"}},
		{"PUT wrong digest", func(c *client) reply {
			loc := c.do("POST", v2+"/blobs/uploads/", nil).Header.Get("Location")
			return c.do("PUT", loc+"&digest="+string(digestOf([]byte("x"))), blob, octet...)
		}, nil, nil},
		{"PUT no digest", func(c *client) reply {
			loc := c.do("POST", v2+"/blobs/uploads/", nil).Header.Get("Location")
			return c.do("PUT", loc, blob, octet...)
		}, nil, nil},
		{"cancel upload", func(c *client) reply {
			loc := c.do("POST", v2+"/blobs/uploads/", nil).Header.Get("Location")
			c.do("DELETE", loc, nil).want(c.t, 204)
			return c.do("GET", loc, nil)
		}, nil, nil},
		{"PUT blob", func(c *client) reply {
			loc := c.do("POST", v2+"/blobs/uploads/", nil).Header.Get("Location")
			return c.do("PUT", loc+"&digest="+d, blob, octet...)
		}, []string{"Docker-Content-Digest", "Content-Length"}, []string{"Location"}},
		{"HEAD blob", func(c *client) reply { return c.do("HEAD", v2+"/blobs/"+d, nil) },
			[]string{"Content-Length", "Content-Type", "Docker-Content-Digest", "Etag", "Accept-Ranges"}, nil},
		{"GET blob range", func(c *client) reply {
			return c.do("GET", v2+"/blobs/"+d, nil, "Range", "bytes=1-2")
		}, []string{"Content-Range", "Content-Length"}, nil},
		{"GET blob open range", func(c *client) reply {
			return c.do("GET", v2+"/blobs/"+d, nil, "Range", "bytes=2-")
		}, []string{"Content-Range", "Content-Length"}, nil},
		{"GET blob bad range", func(c *client) reply {
			// distribution announces the blob's length on its empty 416 body,
			// so the body is not read.
			resp, _, _ := c.get(v2+"/blobs/"+d, "Range", "bytes=10-20")
			return reply{Response: resp}
		}, []string{"Content-Range"}, nil},
		{"blob in another repository", func(c *client) reply {
			return c.do("GET", v2+"x/blobs/"+d, nil)
		}, nil, nil},
		{"bad digest", func(c *client) reply { return c.do("GET", v2+"/blobs/sha256:abc", nil) }, nil, nil},
		{"mount", func(c *client) reply {
			return c.do("POST", v2+"m/blobs/uploads/?mount="+d+"&from="+repo, nil)
		}, []string{"Docker-Content-Digest"}, []string{"Location"}},
		{"mount missing", func(c *client) reply {
			return c.do("POST", v2+"m/blobs/uploads/?mount="+string(digestOf([]byte("no")))+"&from="+repo, nil)
		}, []string{"Range"}, []string{"Location", "Docker-Upload-UUID"}},
	}
}

func manifestSteps(repo string) []step {
	d, v2 := string(digestOf(cmpBlob)), "/v2/"+repo
	config, layer := cmpConfig, cmpLayer
	dockerM := newManifest(manifest.MediaTypeDockerManifest, config, manifest.MediaTypeDockerConfig, [][]byte{layer}, nil)
	child := manifest.DescriptorFor(manifest.MediaTypeDockerManifest, dockerM)
	child.Platform = &manifest.Platform{OS: "linux", Architecture: "amd64"}
	list := newIndex(manifest.MediaTypeDockerManifestList, child)
	ociM := newManifest(manifest.MediaTypeOCIManifest, config, manifest.MediaTypeOCIConfig, [][]byte{layer}, nil)
	return []step{
		{"manifest blobs missing", func(c *client) reply {
			return c.pushManifest(repo, "oci", manifest.MediaTypeOCIManifest, ociM)
		}, nil, nil},
		{"PUT manifest", func(c *client) reply {
			c.pushBlob(repo, config)
			c.pushBlob(repo, layer)
			return c.pushManifest(repo, "oci", manifest.MediaTypeOCIManifest, ociM)
		}, []string{"Docker-Content-Digest"}, []string{"Location"}},
		{"PUT manifest wrong type", func(c *client) reply {
			return c.pushManifest(repo, "oci", manifest.MediaTypeDockerManifest, ociM)
		}, nil, nil},
		{"PUT manifest wrong digest", func(c *client) reply {
			return c.pushManifest(repo, d, manifest.MediaTypeOCIManifest, ociM)
		}, nil, nil},
		{"GET OCI without Accept", func(c *client) reply { return c.do("GET", v2+"/manifests/oci", nil) }, nil, nil},
		{"GET OCI", func(c *client) reply {
			return c.do("GET", v2+"/manifests/oci", nil, "Accept", manifest.MediaTypeOCIManifest)
		}, []string{"Content-Type", "Content-Length", "Docker-Content-Digest", "Etag"}, nil},
		{"PUT docker manifest and list", func(c *client) reply {
			c.pushManifest(repo, "docker", manifest.MediaTypeDockerManifest, dockerM).want(c.t, 201)
			return c.pushManifest(repo, "list", manifest.MediaTypeDockerManifestList, list)
		}, []string{"Docker-Content-Digest"}, nil},
		{"GET docker without Accept", func(c *client) reply { return c.do("GET", v2+"/manifests/docker", nil) }, nil, nil},
		{"GET docker by digest", func(c *client) reply {
			return c.do("GET", v2+"/manifests/"+string(child.Digest), nil)
		}, []string{"Content-Type", "Docker-Content-Digest"}, nil},
		{"GET list as manifest", func(c *client) reply {
			return c.do("GET", v2+"/manifests/list", nil, "Accept", manifest.MediaTypeDockerManifest)
		}, []string{"Content-Type", "Docker-Content-Digest"}, nil},
		{"GET list", func(c *client) reply {
			return c.do("GET", v2+"/manifests/list", nil, "Accept", manifest.MediaTypeDockerManifestList)
		}, []string{"Content-Type", "Docker-Content-Digest"}, nil},
		{"unknown tag", func(c *client) reply { return c.do("GET", v2+"/manifests/nope", nil) }, nil, nil},
		{"tags of unknown repository", func(c *client) reply { return c.do("GET", v2+"zz/tags/list", nil) }, nil, nil},
		{"method not allowed", func(c *client) reply {
			r := c.do("PUT", v2+"/blobs/"+d, nil)
			r.body = nil // distribution's is plain text, ours a spec error body
			return r
		}, nil, nil},
		{"DELETE blob", func(c *client) reply {
			c.do("DELETE", v2+"m/blobs/"+d, nil).want(c.t, 202)
			return c.do("DELETE", v2+"m/blobs/"+d, nil)
		}, nil, nil},
		{"DELETE manifest", func(c *client) reply {
			c.do("DELETE", v2+"/manifests/"+string(digestOf(ociM)), nil).want(c.t, 202)
			return c.do("GET", v2+"/manifests/oci", nil, "Accept", manifest.MediaTypeOCIManifest)
		}, nil, nil},
	}
}
