package registrytest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
)

// client sends requests to a test server and reads whole replies.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
}

func newClient(t testing.TB, srv *registrytest.Server) *client {
	return &client{t: t, base: srv.URL, hc: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// start returns a server with opts and a client for it.
func start(t testing.TB, opts *registrytest.Options) (*registrytest.Server, *client) {
	srv := registrytest.NewServer(t, opts)
	return srv, newClient(t, srv)
}

type reply struct {
	*http.Response
	body []byte
}

// do sends method to path (relative to the server, or absolute) with body
// and header pairs "Name", "value", ….
func (c *client) do(method, path string, body []byte, header ...string) reply {
	c.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = c.base + path
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return reply{resp, b}
}

// want fails the test unless the reply has status.
func (r reply) want(t testing.TB, status int) reply {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	return r
}

// wantError fails the test unless the reply has status and a spec error
// body whose first code is code.
func (r reply) wantError(t testing.TB, status int, code string) {
	t.Helper()
	r.want(t, status)
	var eb struct {
		Errors []struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Detail  json.RawMessage `json:"detail"`
		} `json:"errors"`
	}
	if r.Request.Method == http.MethodHead {
		return
	}
	if err := json.Unmarshal(r.body, &eb); err != nil || len(eb.Errors) == 0 {
		t.Fatalf("error body %q is not a spec error body: %v", r.body, err)
	}
	if eb.Errors[0].Code != code || eb.Errors[0].Message == "" {
		t.Fatalf("error %+v, want code %s with a message", eb.Errors[0], code)
	}
}

// header fails the test unless the reply's header name is value.
func (r reply) header(t testing.TB, name, value string) reply {
	t.Helper()
	if got := r.Header.Get(name); got != value {
		t.Fatalf("%s %s: %s is %q, want %q", r.Request.Method, r.Request.URL.Path, name, got, value)
	}
	return r
}

func digestOf(b []byte) manifest.Digest { return manifest.FromBytes(b) }

// pushBlob uploads b to repo with POST then PUT and returns its digest.
func (c *client) pushBlob(repo string, b []byte) manifest.Digest {
	c.t.Helper()
	d := digestOf(b)
	loc := c.do("POST", "/v2/"+repo+"/blobs/uploads/", nil).want(c.t, 202).Header.Get("Location")
	c.do("PUT", loc+"&digest="+string(d), b, "Content-Type", "application/octet-stream").want(c.t, 201)
	return d
}

// pushManifest puts raw with media type mt under ref.
func (c *client) pushManifest(repo, ref, mt string, raw []byte) reply {
	c.t.Helper()
	return c.do("PUT", "/v2/"+repo+"/manifests/"+ref, raw, "Content-Type", mt)
}

// image is a pushed single-layer image.
type image struct {
	config, layer, manifest []byte
	desc                    manifest.Descriptor // of the manifest
}

// newManifest returns an OCI manifest of config and layers, with extra
// fields merged in (subject, artifactType, annotations …).
func newManifest(mt string, config []byte, configType string, layers [][]byte, extra map[string]any) []byte {
	m := map[string]any{"schemaVersion": 2, "mediaType": mt,
		"config": manifest.DescriptorFor(configType, config)}
	ls := []manifest.Descriptor{}
	for _, l := range layers {
		ls = append(ls, manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, l))
	}
	m["layers"] = ls
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// pushImage pushes a config, a layer and an OCI manifest tagged tag.
func (c *client) pushImage(repo, tag, seed string) image {
	c.t.Helper()
	img := image{config: []byte(`{"architecture":"amd64","os":"linux","seed":"` + seed + `"}`), layer: []byte("layer " + seed)}
	c.pushBlob(repo, img.config)
	c.pushBlob(repo, img.layer)
	img.manifest = newManifest(manifest.MediaTypeOCIManifest, img.config, manifest.MediaTypeOCIConfig, [][]byte{img.layer}, nil)
	img.desc = manifest.DescriptorFor(manifest.MediaTypeOCIManifest, img.manifest)
	c.pushManifest(repo, tag, manifest.MediaTypeOCIManifest, img.manifest).want(c.t, 201)
	return img
}

// newIndex returns an index of mt listing children.
func newIndex(mt string, children ...manifest.Descriptor) []byte {
	b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mt, "manifests": children})
	return b
}

func ociAccept() []string {
	return []string{"Accept", manifest.MediaTypeOCIManifest + ", " + manifest.MediaTypeOCIIndex}
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
