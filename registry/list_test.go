package registry_test

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

func TestCatalogFollowsPages(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv := registrytest.NewServer(t, nil)
	cfg := []byte("{}")
	desc := manifest.DescriptorFor(manifest.MediaTypeOCIConfig, cfg)
	var want []string
	for i := range 150 { // the registry's page is 100
		name := fmt.Sprintf("r/n%03d", i)
		if err := repoOn(t, c, srv, name).Push(t.Context(), desc, bytes.NewReader(cfg)); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	srv.Log.Reset()
	got, err := c.Catalog(t.Context(), srv.Host)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("catalog: %d names, %v", len(got), err)
	}
	if n := srv.Log.Count(is("GET", "_catalog")); n != 2 {
		t.Fatalf("%d catalog pages fetched, want 2", n)
	}
}

func TestTags(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, nil, c, "a/b")
	im := seed(t, srv, nil, "a/b", "v1", 10)
	for _, tag := range []string{"v2", "latest", "1.0"} {
		if err := repo.Tag(t.Context(), im.Manifest.Descriptor(), tag); err != nil {
			t.Fatal(err)
		}
	}
	got, err := repo.Tags(t.Context())
	if err != nil || !slices.Equal(got, []string{"1.0", "latest", "v1", "v2"}) {
		t.Fatalf("tags = %v, %v", got, err)
	}
}

// pushReferrer pushes an artifact manifest whose subject is subject.
func pushReferrer(t *testing.T, repo *registry.Repository, subject manifest.Descriptor, artifactType string) manifest.Descriptor {
	t.Helper()
	empty := manifest.DescriptorFor(manifest.MediaTypeOCIEmpty, []byte("{}"))
	if err := repo.Push(t.Context(), empty, bytes.NewReader([]byte("{}"))); err != nil {
		t.Fatal(err)
	}
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest, ArtifactType: artifactType,
		Config: empty, Layers: []manifest.Descriptor{empty}, Subject: &subject}
	doc, err := manifest.Marshal(manifest.MediaTypeOCIManifest, &m)
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.PushDocument(t.Context(), repo, doc, ""); err != nil {
		t.Fatal(err)
	}
	return doc.Descriptor()
}

func TestReferrers(t *testing.T) {
	for _, noAPI := range []bool{false, true} {
		c, _ := testClient(&registry.Client{})
		srv, repo := serve(t, &registrytest.Options{NoReferrers: noAPI}, c, "a/b")
		im := seed(t, srv, nil, "a/b", "v1", 10)
		subject := im.Manifest.Descriptor()
		if noAPI {
			// Without the API, the pusher maintains the tag-schema index.
			sig := pushReferrer(t, repo, subject, "application/vnd.example.sig")
			sig.ArtifactType = "application/vnd.example.sig"
			idx, _ := manifest.Marshal(manifest.MediaTypeOCIIndex, &manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: []manifest.Descriptor{sig}})
			if err := testimage.PushDocument(t.Context(), repo, idx, "sha256-"+subject.Digest.Hex()); err != nil {
				t.Fatal(err)
			}
		} else {
			pushReferrer(t, repo, subject, "application/vnd.example.sig")
			pushReferrer(t, repo, subject, "application/vnd.example.sbom")
		}
		got, err := repo.Referrers(t.Context(), subject, "application/vnd.example.sig")
		if err != nil || len(got) != 1 || got[0].ArtifactType != "application/vnd.example.sig" {
			t.Fatalf("noAPI=%v: referrers = %+v, %v", noAPI, got, err)
		}
		none, err := repo.Referrers(t.Context(), subject, "application/vnd.example.none")
		if err != nil || len(none) != 0 {
			t.Fatalf("noAPI=%v: filtered = %+v, %v", noAPI, none, err)
		}
	}
}

func TestReliability28_NoDowngradeRedirect(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request reached the plain-HTTP server: %s", r.URL)
	}))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
	}))
	defer tlsSrv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(tlsSrv.Certificate())
	c := &registry.Client{RootCAs: roots}
	repo := newRepo(t, c, tlsSrv, "a/b")
	_, err := repo.FetchManifest(t.Context(), "v1")
	if err == nil || !strings.Contains(err.Error(), "refusing redirect from https") {
		t.Fatalf("err = %v", err)
	}
}

// TestPushKeepsReferrersTagSchema: pushing a manifest with a subject to a
// registry without the referrers API lists it in the fallback tag's
// index, so the referrers of the subject can be found; a registry with the
// API gets no such tag.
func TestPushKeepsReferrersTagSchema(t *testing.T) {
	for _, noAPI := range []bool{false, true} {
		c, _ := testClient(&registry.Client{})
		srv, repo := serve(t, &registrytest.Options{NoReferrers: noAPI}, c, "a/b")
		im := seed(t, srv, nil, "a/b", "v1", 10)
		subject := im.Manifest.Descriptor()
		sig := pushReferrer(t, repo, subject, "application/vnd.example.sig")
		sbom := pushReferrer(t, repo, subject, "application/vnd.example.sbom")
		pushReferrer(t, repo, subject, "application/vnd.example.sig") // again: listed once
		got, err := repo.Referrers(t.Context(), subject, "")
		if err != nil || len(got) != 2 || got[0].Digest != sig.Digest || got[1].Digest != sbom.Digest || got[0].ArtifactType != "application/vnd.example.sig" {
			t.Fatalf("noAPI=%v: referrers %+v, %v", noAPI, got, err)
		}
		_, err = repo.Resolve(t.Context(), "sha256-"+subject.Digest.Hex())
		if tagged := err == nil; tagged != noAPI {
			t.Fatalf("noAPI=%v: the fallback tag exists: %v", noAPI, tagged)
		}
	}
}
