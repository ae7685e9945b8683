package registry_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// fetchAll reads the blob desc names through repo.
func fetchAll(t *testing.T, repo *registry.Repository, desc manifest.Descriptor) ([]byte, error) {
	t.Helper()
	rc, err := repo.Fetch(t.Context(), desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestReliability32_ResumeAfterCut(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, nil, c, "a/b")
	im := seed(t, srv, nil, "a/b", "v1", 1<<20)
	layer := im.Manifest.Manifest.Layers[0]
	cut := layer.Size * 6 / 10
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), Times: 1, CutAfter: cut})
	got, err := fetchAll(t, repo, layer)
	if err != nil || !bytes.Equal(got, im.Blobs[layer.Digest]) {
		t.Fatalf("resumed fetch: %v", err)
	}
	reqs := srv.Log.Requests()
	if len(reqs) != 2 || reqs[1].Header.Get("Range") != "bytes="+strconv.FormatInt(cut, 10)+"-" || reqs[1].Status != 206 {
		t.Fatalf("requests %+v; want a cut GET then one Range GET from %d answered 206", reqs, cut)
	}
	if sent := srv.Log.BytesOut(nil); sent > layer.Size+layer.Size/20 {
		t.Fatalf("%d bytes sent for a %d-byte blob: more than 5%% again", sent, layer.Size)
	}
}

func TestReliability33_ResumeAnsweredWithFull200(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, nil, c, "a/b")
	im := seed(t, srv, nil, "a/b", "v1", 300<<10)
	layer := im.Manifest.Manifest.Layers[0]
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), Times: 1, CutAfter: layer.Size / 2})
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), NoRange: true})
	got, err := fetchAll(t, repo, layer)
	if err != nil || !bytes.Equal(got, im.Blobs[layer.Digest]) {
		t.Fatalf("fetch after a full 200 resume: %v (%d bytes)", err, len(got))
	}
}

func TestResumeBounded(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, nil, c, "a/b")
	im := seed(t, srv, nil, "a/b", "v1", 300<<10)
	layer := im.Manifest.Manifest.Layers[0]
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), CutAfter: 1000})
	_, err := fetchAll(t, repo, layer)
	if err == nil || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("err = %v", err)
	}
	if n := srv.Log.Count(is("GET", "/blobs/")); n > 20 {
		t.Fatalf("%d GETs for one blob: resumes are not bounded", n)
	}
}

func TestReliability04_05_WrongBytes(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, nil, c, "a/b")
	im := seed(t, srv, nil, "a/b", "v1", 4096)
	layer := im.Manifest.Manifest.Layers[0]
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), WrongBytes: true})
	_, err := fetchAll(t, repo, layer)
	if !errors.Is(err, manifest.ErrDigestMismatch) || !strings.Contains(err.Error(), string(layer.Digest)) {
		t.Fatalf("err = %v", err)
	}
}

func TestReliability04_ContentLengthDisagrees(t *testing.T) {
	data := []byte("0123456789")
	desc := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)
	for _, body := range [][]byte{data[:9], append(bytes.Clone(data), 'x')} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		}))
		repo := newRepo(t, &registry.Client{}, srv, "a/b")
		rc, err := repo.Fetch(t.Context(), desc)
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		srv.Close()
		if !errors.Is(err, manifest.ErrSizeMismatch) {
			t.Errorf("%d-byte body for a %d-byte descriptor: err = %v", len(body), len(data), err)
		}
	}
}

func bearer(users map[string]string, now func() time.Time) *registrytest.Options {
	return &registrytest.Options{Now: now, Auth: registrytest.Auth{Mode: registrytest.AuthBearer, Users: users}}
}

func TestReliability19_RedirectGetsNoCredentials(t *testing.T) {
	creds := auth.Static{}
	c, _ := testClient(&registry.Client{Keychain: creds})
	srv, repo := serve(t, bearer(map[string]string{"alice": "pw-alice"}, nil), c, "a/b")
	creds[srv.Host] = auth.Credential{Username: "alice", Password: "pw-alice"}
	im := seed(t, srv, c, "a/b", "v1", 2048)
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "^/v2/.*/blobs/"), RedirectTo: srv.BlobURL})
	layer := im.Manifest.Manifest.Layers[0]
	if got, err := fetchAll(t, repo, layer); err != nil || !bytes.Equal(got, im.Blobs[layer.Digest]) {
		t.Fatalf("redirected fetch: %v", err)
	}
	blobHits := 0
	for _, r := range srv.Log.Requests() {
		if r.Server == "blobs" {
			blobHits++
			if r.Header.Get("Authorization") != "" {
				t.Fatalf("the blob host received Authorization %q", r.Header.Get("Authorization"))
			}
		}
	}
	if blobHits != 1 {
		t.Fatalf("%d requests reached the blob host, want 1", blobHits)
	}
}

func TestBearerTokensReusedAndRefreshed(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	opts := bearer(map[string]string{"alice": "pw-alice"}, clock)
	opts.Auth.TokenTTL = 5 * time.Minute
	c, _ := testClient(&registry.Client{Keychain: auth.Static{}})
	srv := registrytest.NewServer(t, opts)
	c.Keychain = auth.Static{srv.Host: {Username: "alice", Password: "pw-alice"}}
	repo := repoOn(t, c, srv, "a/b")
	repo.WillPush()
	im := seed(t, srv, c, "a/b", "v1", 100, 200, 300)
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Server == "token" }); n != 0 {
		t.Fatalf("the seed's token leaked into the log: %d", n)
	}
	for range 3 {
		if _, err := repo.FetchManifest(t.Context(), "v1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Server == "token" }); n != 0 {
		t.Fatalf("%d token requests for a cached scope, want 0", n)
	}
	now = now.Add(time.Hour) // every token expired (RELIABILITY #26)
	for _, l := range im.Manifest.Manifest.Layers {
		if _, err := fetchAll(t, repo, l); err != nil {
			t.Fatalf("after expiry: %v", err)
		}
	}
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Server == "token" }); n != 1 {
		t.Fatalf("%d token requests after expiry, want exactly 1", n)
	}
}

func TestWrongPasswordIsUnauthorizedAndNotLeaked(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv := registrytest.NewServer(t, bearer(map[string]string{"alice": "pw-alice"}, nil))
	c.Keychain = auth.Static{srv.Host: {Username: "alice", Password: "hunter2-wrong"}}
	_, err := repoOn(t, c, srv, "a/b").FetchManifest(t.Context(), "v1")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v", err)
	}
}
