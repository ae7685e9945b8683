package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// testServer is a Server over a layout storage in a temporary root, on
// loopback.
type testServer struct {
	*server.Server
	root, uploads, url string
	hc                 *http.Client
	t                  testing.TB
}

// start serves a root as "skiff registry serve" does; edit may change the
// options first.
func start(t testing.TB, edit func(*server.Options)) *testServer {
	return startAt(t, t.TempDir(), edit)
}

// startAt is start on a root the test made.
func startAt(t testing.TB, root string, edit func(*server.Options)) *testServer {
	opts := &server.Options{Storage: server.NewLayoutStorage(root),
		UploadDir: filepath.Join(root, server.UploadsDir)}
	if edit != nil {
		edit(opts)
	}
	srv := server.New(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return &testServer{Server: srv, root: root, uploads: opts.UploadDir, url: hs.URL, hc: hs.Client(), t: t}
}

type reply struct {
	*http.Response
	body []byte
}

// do sends method to path (relative to the server, or absolute) with body
// and header pairs.
func (s *testServer) do(method, path string, body []byte, header ...string) reply {
	s.t.Helper()
	r, err := s.try(method, path, body, header...)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// try is do for goroutines: it returns the error instead of failing.
func (s *testServer) try(method, path string, body []byte, header ...string) (reply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	return s.tryReader(method, path, rd, header...)
}

// tryReader sends the body rd yields: without a Content-Length unless it
// is a *bytes.Reader.
func (s *testServer) tryReader(method, path string, rd io.Reader, header ...string) (reply, error) {
	u := path
	if len(path) == 0 || path[0] == '/' {
		u = s.url + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return reply{}, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{resp, b}, err
}

func (r reply) want(t testing.TB, status int) reply {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	return r
}

// wantError fails the test unless the reply has status and a spec error
// body whose first code is code.
func (r reply) wantError(t testing.TB, status int, code string) reply {
	t.Helper()
	r.want(t, status)
	var eb struct {
		Errors []struct{ Code, Message string }
	}
	if err := json.Unmarshal(r.body, &eb); err != nil || len(eb.Errors) == 0 || eb.Errors[0].Code != code {
		t.Fatalf("%s %s: error body %s, want code %s", r.Request.Method, r.Request.URL.Path, r.body, code)
	}
	return r
}

// pushBlob uploads b to repo with POST then PUT and returns its digest.
func (s *testServer) pushBlob(repo string, b []byte) manifest.Digest {
	s.t.Helper()
	d := manifest.FromBytes(b)
	loc := s.do("POST", "/v2/"+repo+"/blobs/uploads/", nil).want(s.t, 202).Header.Get("Location")
	s.do("PUT", loc+"&digest="+string(d), b).want(s.t, 201)
	return d
}

// image is a single-layer OCI image, not yet pushed.
type image struct {
	config, layer, raw []byte
	desc               manifest.Descriptor
}

// newImage returns an image whose layer has size bytes made from seed,
// with extra fields (subject, artifactType …) in its manifest.
func newImage(seed string, size int, extra map[string]any) image {
	im := image{config: []byte(`{"architecture":"amd64","os":"linux","seed":"` + seed + `"}`),
		layer: bytes.Repeat([]byte(seed+" "), size/(len(seed)+1)+1)[:size]}
	m := map[string]any{"schemaVersion": 2, "mediaType": manifest.MediaTypeOCIManifest,
		"config": manifest.DescriptorFor(manifest.MediaTypeOCIConfig, im.config),
		"layers": []manifest.Descriptor{manifest.DescriptorFor(manifest.MediaTypeOCILayer, im.layer)}}
	for k, v := range extra {
		m[k] = v
	}
	im.raw, _ = json.Marshal(m)
	im.desc = manifest.DescriptorFor(manifest.MediaTypeOCIManifest, im.raw)
	return im
}

// push uploads the image's blobs and puts its manifest under ref.
func (s *testServer) push(repo, ref string, im image) {
	s.t.Helper()
	s.pushBlob(repo, im.config)
	s.pushBlob(repo, im.layer)
	s.putManifest(repo, ref, im.raw).want(s.t, 201)
}

func (s *testServer) putManifest(repo, ref string, raw []byte) reply {
	s.t.Helper()
	return s.do("PUT", "/v2/"+repo+"/manifests/"+ref, raw, "Content-Type", manifest.MediaTypeOCIManifest)
}

// files lists the regular files under dir, relative, with their sizes.
func files(t testing.TB, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			info, _ := d.Info()
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = info.Size()
		}
		return nil
	})
	return out
}

// checkLayout fails the test unless the repository is a valid OCI layout
// whose every manifest, index and referenced blob is present and verifies.
func checkLayout(t testing.TB, root, repo string) *manifest.Index {
	t.Helper()
	l, err := layout.Open(filepath.Join(root, filepath.FromSlash(repo)))
	if err != nil {
		t.Fatalf("repository %s is no layout: %v", repo, err)
	}
	idx, err := l.Index()
	if err != nil {
		t.Fatalf("repository %s: index.json: %v", repo, err)
	}
	for _, d := range idx.Manifests {
		testtool.CheckGraph(t, l, d)
	}
	return idx
}
