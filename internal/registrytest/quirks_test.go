package registrytest_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
)

// TestQuirksBite sends each quirk the requests its registry answers in
// its own way, and checks the answer is that registry's: status, code,
// headers, and that QuirkHits counted it. A client that does what the
// sources describe (a narrow Accept, a second upload of a blob, …) meets
// the quirk here, where skiff's own tests show skiff does not.
func TestQuirksBite(t *testing.T) {
	for name, bite := range quirkBites {
		t.Run(string(name), func(t *testing.T) {
			s, img := seeded(t)
			srv, c := start(t, &registrytest.Options{Storage: s, Quirks: []registrytest.Quirk{name}})
			bite(t, c, img)
			if srv.QuirkHits(name) == 0 {
				t.Fatal("QuirkHits did not count it")
			}
		})
	}
	for _, q := range registrytest.Catalogue() {
		if !strings.HasPrefix(q.URL(), "https://github.com/") || q.Registry == "" {
			t.Errorf("%s: no registry or source", q.Quirk)
		}
	}
}

var quirkBites = map[registrytest.Quirk]func(t *testing.T, c *client, img image){
	registrytest.GitLabStrictAccept: func(t *testing.T, c *client, img image) {
		c.do("GET", "/v2/a/manifests/v1", nil, "Accept", manifest.MediaTypeDockerManifest).wantError(t, 404, "MANIFEST_UNKNOWN")
		c.do("HEAD", "/v2/a/manifests/"+string(img.desc.Digest), nil, "Accept", manifest.MediaTypeOCIIndex).want(t, 404)
		c.do("GET", "/v2/a/manifests/v1", nil, ociAccept()...).want(t, 200)
	},
	registrytest.ArtifactoryAccept406: func(t *testing.T, c *client, img image) {
		c.do("GET", "/v2/a/blobs/"+string(digestOf(img.layer)), nil, ociAccept()...).want(t, 406)
		c.do("GET", "/v2/a/blobs/"+string(digestOf(img.layer)), nil).want(t, 200)
	},
	registrytest.NexusBlobCannotBeUpdated: func(t *testing.T, c *client, img image) {
		loc := c.do("POST", "/v2/a/blobs/uploads/", nil).want(t, 202).Header.Get("Location")
		c.do("PUT", loc+"&digest="+string(digestOf(img.layer)), img.layer).wantError(t, 400, "BLOB_UPLOAD_INVALID")
		c.pushBlob("a", []byte("a new blob")) // a new one goes in
	},
	registrytest.RedHatGzipEncoding: func(t *testing.T, c *client, img image) {
		r := c.do("GET", "/v2/a/blobs/"+string(digestOf(img.layer)), nil, "Accept-Encoding", "gzip").want(t, 200)
		zr, err := gzip.NewReader(bytes.NewReader(r.body))
		if err != nil || r.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q, %v", r.Header.Get("Content-Encoding"), err)
		}
		if b, _ := io.ReadAll(zr); !bytes.Equal(b, img.layer) {
			t.Fatal("the gzip'd body is not the blob")
		}
	},
	registrytest.ECRRepositoryMustExist: func(t *testing.T, c *client, img image) {
		c.do("POST", "/v2/new/blobs/uploads/", nil).wantError(t, 404, "NAME_UNKNOWN")
		c.pushManifest("new", "v1", manifest.MediaTypeOCIManifest, img.manifest).wantError(t, 404, "NAME_UNKNOWN")
		c.do("POST", "/v2/a/blobs/uploads/", nil).want(t, 202)
	},
	registrytest.ECRImmutableTags: func(t *testing.T, c *client, img image) {
		c.pushManifest("a", "v1", manifest.MediaTypeOCIManifest, img.manifest).wantError(t, 400, "TAG_INVALID")
		c.pushManifest("a", "v2", manifest.MediaTypeOCIManifest, img.manifest).want(t, 201)
	},
	registrytest.HarborImmutableTags: func(t *testing.T, c *client, img image) {
		c.pushManifest("a", "v1", manifest.MediaTypeOCIManifest, img.manifest).wantError(t, 412, "DENIED")
	},
	registrytest.HarborMountMissingProject: func(t *testing.T, c *client, img image) {
		q := "?mount=" + url.QueryEscape(string(digestOf(img.layer)))
		c.do("POST", "/v2/b/blobs/uploads/"+q+"&from=nothere%2Fx", nil).wantError(t, 401, "UNAUTHORIZED")
		c.do("POST", "/v2/b/blobs/uploads/"+q+"&from=a", nil).want(t, 201)
	},
	registrytest.HarborVulnerable412: func(t *testing.T, c *client, img image) {
		c.do("HEAD", "/v2/a/manifests/v1", nil, ociAccept()...).want(t, 412)
		c.do("GET", "/v2/a/manifests/nothere", nil, ociAccept()...).want(t, 404)
	},
	registrytest.HubPullRateLimit: func(t *testing.T, c *client, img image) {
		r := c.do("GET", "/v2/a/manifests/v1", nil, ociAccept()...)
		r.wantError(t, 429, "TOOMANYREQUESTS")
		r.header(t, "RateLimit-Remaining", "0;w=21600").header(t, "Retry-After", "")
		c.do("HEAD", "/v2/a/manifests/v1", nil, ociAccept()...).want(t, 200)
	},
	registrytest.ECRBlobRedirectS3: func(t *testing.T, c *client, img image) {
		loc := c.do("GET", "/v2/a/blobs/"+string(digestOf(img.layer)), nil).want(t, 307).Header.Get("Location")
		c.do("GET", loc, nil).want(t, 200)
		c.do("GET", loc, nil, "Authorization", "Bearer x").want(t, 400)
	},
	registrytest.ECRMountNeedsManifest: func(t *testing.T, c *client, img image) {
		d := c.pushBlob("a", []byte("unreferenced"))
		c.do("POST", "/v2/b/blobs/uploads/?mount="+url.QueryEscape(string(d))+"&from=a", nil).want(t, 202)
		c.do("POST", "/v2/b/blobs/uploads/?mount="+url.QueryEscape(string(digestOf(img.layer)))+"&from=a", nil).want(t, 201)
	},
	registrytest.GCRTagsNoPagination: func(t *testing.T, c *client, img image) {
		r := c.do("GET", "/v2/a/tags/list?n=0", nil).want(t, 200).header(t, "Link", "")
		var page struct {
			Tags     []string       `json:"tags"`
			Manifest map[string]any `json:"manifest"`
		}
		if json.Unmarshal(r.body, &page) != nil || len(page.Tags) != 1 || page.Manifest[string(img.desc.Digest)] == nil {
			t.Fatalf("tags list %s", r.body)
		}
	},
	registrytest.ACRLinkOrderby: func(t *testing.T, c *client, img image) {
		c.pushManifest("a", "v2", manifest.MediaTypeOCIManifest, img.manifest).want(t, 201)
		link := c.do("GET", "/v2/a/tags/list?n=1", nil).want(t, 200).Header.Get("Link")
		if !strings.Contains(link, "&orderby=>") {
			t.Fatalf("Link %q", link)
		}
	},
}
