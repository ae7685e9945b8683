package registry_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

func TestDockerHubFlavorTokenOnAnotherHost(t *testing.T) {
	opts := &registrytest.Options{Auth: registrytest.Auth{Mode: registrytest.AuthBearer, Flavor: registrytest.FlavorDockerHub,
		AnonymousPull: true, Users: map[string]string{"bob": "pw-bob"}}}
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, opts, c, "library/alpine")
	if srv.TokenURL == srv.URL {
		t.Fatal("the token server is not separate: the test proves nothing")
	}
	seedClient, _ := testClient(&registry.Client{Keychain: auth.Static{srv.Host: {Username: "bob", Password: "pw-bob"}}})
	im := seed(t, srv, seedClient, "library/alpine", "3", 1000)
	if _, err := repo.FetchManifest(t.Context(), "3"); err != nil {
		t.Fatalf("anonymous pull through a token server on another host: %v", err)
	}
	if _, err := fetchAll(t, repo, im.Manifest.Manifest.Layers[0]); err != nil {
		t.Fatal(err)
	}
}

func TestACRFlavorRefreshToken(t *testing.T) {
	opts := &registrytest.Options{Auth: registrytest.Auth{Mode: registrytest.AuthBearer, Flavor: registrytest.FlavorACR,
		RefreshTokens: map[string]string{"refresh-secret-1": "carol"}}}
	// REFRESH_TOKEN becomes the credential's IdentityToken.
	srv := registrytest.NewServer(t, opts)
	c, _ := testClient(&registry.Client{Keychain: auth.Static{srv.Host: {IdentityToken: "refresh-secret-1"}}})
	repo := repoOn(t, c, srv, "team/app")
	repo.WillPush()
	data := []byte("acr layer")
	desc := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)
	if err := repo.Push(t.Context(), desc, bytes.NewReader(data)); err != nil {
		t.Fatalf("push with a refresh token: %v", err)
	}
	posts := srv.Log.Count(func(r registrytest.Request) bool { return r.Server == "token" && r.Method == "POST" })
	if posts == 0 {
		t.Fatal("the refresh token was not exchanged with an OAuth2 POST")
	}
	for _, r := range srv.Log.Requests() {
		if strings.Contains(r.RawQuery, "refresh-secret-1") {
			t.Fatal("the refresh token went into a URL")
		}
	}
}

// TestReliability34_PatchAnswered201 plays ECR, which answers a chunk's
// PATCH with 201 instead of 202.
func TestReliability34_PatchAnswered201(t *testing.T) {
	var stored bytes.Buffer
	var patches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			w.Header().Set("Location", "/v2/a/b/blobs/uploads/1")
			w.WriteHeader(http.StatusAccepted)
		case r.Method == http.MethodPatch:
			patches.Add(1)
			io.Copy(&stored, r.Body)
			w.Header().Set("Location", "/v2/a/b/blobs/uploads/1")
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodPut && r.URL.Query().Get("digest") == string(manifest.FromBytes(stored.Bytes())):
			w.WriteHeader(http.StatusCreated)
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	repo := newRepo(t, &registry.Client{ChunkSize: 64 << 10}, srv, "a/b")
	data := bytes.Repeat([]byte("ecr"), 100000)
	if err := repo.Push(t.Context(), manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data), bytes.NewReader(data)); err != nil {
		t.Fatalf("push to a registry answering PATCH with 201: %v", err)
	}
	if patches.Load() < 4 || !bytes.Equal(stored.Bytes(), data) {
		t.Fatalf("%d PATCHes stored %d bytes", patches.Load(), stored.Len())
	}
}
