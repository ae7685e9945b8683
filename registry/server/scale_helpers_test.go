package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// bigRepo is a repository seedTags wrote straight to disk: n tags, each
// naming a manifest of its own over one shared config and layer, and
// every tenth of those manifests a referrer of the first.
type bigRepo struct {
	name    string
	base    image             // the shared blobs; base.raw is the first manifest
	subject manifest.Digest   // what the referrers refer to
	refs    []manifest.Digest // the referrers of subject
}

// seedTags writes repository repo with n tags under root as the layout
// storage keeps it (blobs once in .blobs, hard-linked into the layout),
// without a server: a test gets 10,000 tags in a second.
func seedTags(t testing.TB, root, repo string, n int) *bigRepo {
	t.Helper()
	br := &bigRepo{name: repo, base: newImage("big", 100, nil)}
	dir := filepath.Join(root, filepath.FromSlash(repo))
	for _, d := range []string{filepath.Join(dir, "blobs", "sha256"), filepath.Join(root, ".blobs", "sha256")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	put := func(b []byte) manifest.Digest {
		d := manifest.FromBytes(b)
		store := filepath.Join(root, ".blobs", "sha256", d.Hex())
		if err := os.WriteFile(store, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(store, filepath.Join(dir, "blobs", "sha256", d.Hex())); err != nil {
			t.Fatal(err)
		}
		return d
	}
	put(br.base.config)
	put(br.base.layer)
	var idx strings.Builder
	idx.WriteString(`{"schemaVersion":2,"mediaType":"` + manifest.MediaTypeOCIIndex + `","manifests":[`)
	for i := range n {
		extra := map[string]any{"annotations": map[string]string{"n": fmt.Sprint(i)}}
		if i > 0 && i%10 == 0 {
			extra["subject"] = manifest.Descriptor{MediaType: manifest.MediaTypeOCIManifest, Digest: br.subject, Size: br.base.desc.Size}
			extra["artifactType"] = "application/vnd.example.sig"
		}
		im := newImage("big", 100, extra)
		if i == 0 {
			br.base, br.subject = im, im.desc.Digest
		} else if i%10 == 0 {
			br.refs = append(br.refs, im.desc.Digest)
		}
		put(im.raw)
		desc := im.desc
		desc.Annotations = map[string]string{layout.RefNameAnnotation: fmt.Sprintf("t%05d", i)}
		b, _ := json.Marshal(desc)
		if i > 0 {
			idx.WriteByte(',')
		}
		idx.Write(b)
	}
	idx.WriteString(`]}`)
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(idx.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return br
}

// serve sends one request straight to the handler.
func serve(h http.Handler, method, path string, body []byte, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
	if body == nil {
		req.Body = http.NoBody
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}
