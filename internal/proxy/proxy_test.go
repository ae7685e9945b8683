package proxy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/proxy"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

func newImage(t *testing.T, o testimage.Options) *testimage.Image {
	t.Helper()
	im, err := testimage.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// start serves h and returns its URL.
func start(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, method, url string) (*http.Response, []byte, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestManifestAndBlobs(t *testing.T) {
	im := newImage(t, testimage.Options{LayerSizes: []int{100 << 10, 10, 0}, Docker: true})
	h, err := proxy.New(t.Context(), testimage.Fetcher{}.Add(im), im.Descriptor(), nil)
	if err != nil {
		t.Fatal(err)
	}
	url := start(t, h)
	resp, body, err := get(t, "GET", url+"/manifest")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /manifest: %v %v", resp, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != manifest.MediaTypeOCIManifest {
		t.Errorf("Content-Type %q", ct)
	}
	if got := resp.Header.Get("Manifest-Digest"); got != string(im.Manifest.Digest) {
		t.Errorf("Manifest-Digest %q, want the original %s", got, im.Manifest.Digest)
	}
	var m manifest.Manifest
	if err := json.Unmarshal(body, &m); err != nil || m.MediaType != manifest.MediaTypeOCIManifest || m.Config.MediaType != manifest.MediaTypeOCIConfig {
		t.Fatalf("manifest is not OCI: %s (%v)", body, err)
	}
	for i, l := range m.Layers {
		resp, got, err := get(t, "GET", url+"/blobs/"+string(l.Digest))
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, im.Layers[i]) || resp.ContentLength != l.Size {
			t.Errorf("layer %d: %v, %v, %d bytes", i, resp.Status, err, len(got))
		}
	}
	if _, got, _ := get(t, "GET", url+"/blobs/"+string(m.Config.Digest)); !bytes.Equal(got, im.Config) {
		t.Errorf("config differs")
	}
}

func TestIndexResolvedToPlatform(t *testing.T) {
	arm, _ := manifest.ParsePlatform("linux/arm64")
	amd := newImage(t, testimage.Options{LayerSizes: []int{10}, Seed: 1})
	armIm := newImage(t, testimage.Options{LayerSizes: []int{10}, Seed: 2, Platform: arm})
	idx, err := testimage.Index(false, amd, armIm)
	if err != nil {
		t.Fatal(err)
	}
	f := testimage.Fetcher{}.Add(amd).Add(armIm)
	f[idx.Digest] = idx.Raw
	h, err := proxy.New(t.Context(), f, idx.Descriptor(), &proxy.Options{Platform: arm})
	if err != nil {
		t.Fatal(err)
	}
	if h.ManifestDigest() != armIm.Manifest.Digest {
		t.Errorf("picked %s, want arm64's %s", h.ManifestDigest(), armIm.Manifest.Digest)
	}
	s390, _ := manifest.ParsePlatform("linux/s390x")
	if _, err := proxy.New(t.Context(), f, idx.Descriptor(), &proxy.Options{Platform: s390}); !errors.Is(err, manifest.ErrNotFound) {
		t.Errorf("missing platform: %v", err)
	}
}

// TestBadRequests is RELIABILITY #37: invalid digests get 400, others 404.
func TestBadRequests(t *testing.T) {
	im := newImage(t, testimage.Options{LayerSizes: []int{10}})
	h, err := proxy.New(t.Context(), testimage.Fetcher{}.Add(im), im.Descriptor(), nil)
	if err != nil {
		t.Fatal(err)
	}
	url := start(t, h)
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/blobs/sha256:..%2Fx", 400},
		{"GET", "/blobs/SHA256:" + strings.Repeat("A", 64), 400},
		{"GET", "/blobs/sha256:" + strings.Repeat("a", 63), 400},
		{"GET", "/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", 400},
		{"GET", "/blobs/", 400},
		{"GET", "/blobs/" + string(manifest.FromString("elsewhere")), 404},
		{"GET", "/blobs/" + string(im.Manifest.Digest), 404}, // the manifest is not a blob
		{"GET", "/v2/", 404},
		{"GET", "/", 404},
		{"POST", "/manifest", 405},
		{"DELETE", "/blobs/" + string(im.Manifest.Manifest.Layers[0].Digest), 405},
		{"GET", "/quit", 405},
		{"HEAD", "/manifest", 200},
	}
	for _, tt := range tests {
		resp, _, err := get(t, tt.method, url+tt.path)
		if err != nil || resp.StatusCode != tt.status {
			t.Errorf("%s %s: %v %v, want %d", tt.method, tt.path, resp.Status, err, tt.status)
		}
	}
}

func TestQuit(t *testing.T) {
	im := newImage(t, testimage.Options{LayerSizes: []int{10}})
	var quits atomic.Int32
	h, err := proxy.New(t.Context(), testimage.Fetcher{}.Add(im), im.Descriptor(), &proxy.Options{OnQuit: func() { quits.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	url := start(t, h)
	for range 2 {
		if resp, _, err := get(t, "POST", url+"/quit"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST /quit: %v %v", resp, err)
		}
	}
	if quits.Load() != 1 {
		t.Errorf("OnQuit called %d times, want once", quits.Load())
	}
}

// upstream pushes im to a registrytest server with bearer auth and returns
// the server and a repository that reaches it with credentials.
func upstream(t *testing.T, im *testimage.Image) (*registrytest.Server, *registry.Repository) {
	t.Helper()
	srv := registrytest.NewServer(t, &registrytest.Options{Auth: registrytest.Auth{Mode: registrytest.AuthBearer, Users: map[string]string{"u": "secret-pw"}}})
	ref, _ := reference.Parse(srv.Host + "/app:1")
	c := &registry.Client{Keychain: auth.Static{srv.Host: {Username: "u", Password: "secret-pw"}}}
	repo := c.Repository(ref)
	if err := testimage.Push(t.Context(), repo, im, "1"); err != nil {
		t.Fatal(err)
	}
	return srv, repo
}

// TestWrongUpstreamBytes is RELIABILITY #36: a blob whose upstream bytes
// do not match its digest reaches the client short, as an error.
func TestWrongUpstreamBytes(t *testing.T) {
	im := newImage(t, testimage.Options{LayerSizes: []int{300 << 10}})
	srv, repo := upstream(t, im)
	h, err := proxy.New(t.Context(), repo, im.Descriptor(), nil)
	if err != nil {
		t.Fatal(err)
	}
	url := start(t, h)
	layer := im.Manifest.Manifest.Layers[0]
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), WrongBytes: true})
	for range 2 { // nothing cached: the second request fails as well
		resp, body, err := get(t, "GET", url+"/blobs/"+string(layer.Digest))
		if err == nil {
			t.Fatalf("read %d of %d bytes without an error", len(body), layer.Size)
		}
		if resp.ContentLength != layer.Size || int64(len(body)) >= layer.Size || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("Content-Length %d, read %d bytes, err %v; want a short body", resp.ContentLength, len(body), err)
		}
	}
	srv.Faults.Reset()
	if _, body, err := get(t, "GET", url+"/blobs/"+string(layer.Digest)); err != nil || !bytes.Equal(body, im.Layers[0]) {
		t.Errorf("after the fault: %v", err)
	}
}

// TestNoUpstreamSecrets is RELIABILITY #37: nothing the client receives
// names the upstream host, its token or the credentials.
func TestNoUpstreamSecrets(t *testing.T) {
	im := newImage(t, testimage.Options{LayerSizes: []int{10}})
	srv, repo := upstream(t, im)
	h, err := proxy.New(t.Context(), repo, im.Descriptor(), nil)
	if err != nil {
		t.Fatal(err)
	}
	url := start(t, h)
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), Status: 404, Code: registrytest.CodeBlobUnknown})
	paths := []string{"/manifest", "/blobs/" + string(im.Manifest.Manifest.Layers[0].Digest), "/blobs/bad", "/nowhere"}
	for _, p := range paths {
		resp, body, err := get(t, "GET", url+p)
		if err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		resp.Header.Write(&all)
		all.Write(body)
		for _, secret := range []string{srv.Host, "127.0.0.1", "secret-pw", "Bearer", "token", "/v2/"} {
			if strings.Contains(all.String(), secret) {
				t.Errorf("GET %s: response contains %q:\n%s", p, secret, all.String())
			}
		}
	}
}
