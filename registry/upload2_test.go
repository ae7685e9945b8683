package registry_test

import (
	"bytes"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

func TestPushStreamUnknownDigest(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, nil, c, "a/b")
	data := bytes.Repeat([]byte("streamed layer "), 200000)
	desc, err := repo.PushStream(t.Context(), manifest.MediaTypeOCILayerGzip, io.MultiReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != manifest.FromBytes(data) || desc.Size != int64(len(data)) {
		t.Fatalf("descriptor %+v does not describe the bytes", desc)
	}
	if got, err := fetchAll(t, repo, desc); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %v", err)
	}
	if srv.Log.Count(is("PATCH", "")) != 1 || srv.Log.Count(is("PUT", "")) != 1 {
		t.Fatalf("requests: %+v", srv.Log.Requests())
	}
}

func TestReliability35_LostUploadStartsAgain(t *testing.T) {
	c, _ := testClient(&registry.Client{ChunkSize: 64 << 10})
	srv, repo := serve(t, nil, c, "a/b")
	data := bytes.Repeat([]byte("x"), 300<<10)
	desc := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)
	lost := registrytest.Fault{Match: registrytest.Route("PATCH", "/blobs/uploads/"), Times: 1, Status: 404, Code: "BLOB_UPLOAD_UNKNOWN"}
	srv.Faults.Add(lost)
	if err := repo.Push(t.Context(), desc, bytes.NewReader(data)); err != nil {
		t.Fatalf("a seekable source should start a new upload: %v", err)
	}
	if srv.Log.Count(is("POST", "/blobs/uploads/")) != 2 {
		t.Fatal("no second upload session")
	}
	srv.Faults.Add(lost)
	other := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, append(data, 'y'))
	err := repo.Push(t.Context(), other, io.MultiReader(bytes.NewReader(append(data, 'y'))))
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a stream cannot be read again; err = %v", err)
	}
}

func TestCertsDir(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", manifest.MediaTypeOCIManifest)
		w.Write([]byte(realManifest))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, u.Host), 0o755)
	pemCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if _, err := newRepo(t, &registry.Client{CertsDir: dir}, srv, "a/b").FetchManifest(t.Context(), "v1"); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
	os.WriteFile(filepath.Join(dir, u.Host, "ca.crt"), pemCA, 0o644)
	if _, err := newRepo(t, &registry.Client{CertsDir: dir}, srv, "a/b").FetchManifest(t.Context(), "v1"); err != nil {
		t.Fatalf("with certs.d/%s/ca.crt: %v", u.Host, err)
	}
	os.WriteFile(filepath.Join(dir, u.Host, "bad.crt"), []byte("not pem"), 0o644)
	if _, err := newRepo(t, &registry.Client{CertsDir: dir}, srv, "a/b").FetchManifest(t.Context(), "v1"); err == nil || !strings.Contains(err.Error(), "bad.crt") {
		t.Fatalf("a broken certificate file: %v", err)
	}
}
