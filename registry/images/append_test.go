package images_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/server"
)

// Append puts a tar file and a directory on a base in one call, reading
// none of the base's layers, and "scratch" starts from nothing.
func TestAppend(t *testing.T) {
	ctx := context.Background()
	var blobGETs atomic.Int64
	reg := server.New(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			blobGETs.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	base, err := imagestest.Random(1024, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.Write(ctx, base, host+"/base:1", nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "extra.tar")
	if err := os.WriteFile(tarPath, testtool.Tar(t, testtool.Files(map[string]string{"etc/extra": "x\n"}, 0o644)...), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "app", "main"), []byte("code"), 0o755); err != nil {
		t.Fatal(err)
	}
	blobGETs.Store(0)
	desc, err := images.Append(ctx, host+"/base:1", host+"/app:1", []string{tarPath, tree}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := blobGETs.Load(); n != 1 {
		t.Errorf("%d blob GETs, want 1 (the base's config): a base layer was downloaded", n)
	}
	got, err := images.Open(ctx, host+"/app:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Descriptor(); d.Digest != desc.Digest || len(got.Layers()) != 4 || got.Layers()[0].Digest != base.Layers()[0].Digest {
		t.Fatalf("appended image %s with %d layers, want %s with the base's 2 and 2 more", d.Digest, len(got.Layers()), desc.Digest)
	}
	if h := got.Config().History; len(h) < 2 || h[len(h)-1].CreatedBy != "skiff append tree" || h[len(h)-2].CreatedBy != "skiff append extra.tar" {
		t.Errorf("history %+v, want the two files named in order", h)
	}
	again, err := images.Append(ctx, host+"/base:1", host+"/app:2", []string{tarPath, tree}, nil)
	if err != nil || again.Digest != desc.Digest {
		t.Errorf("the same inputs gave %s (%v), want %s", again.Digest, err, desc.Digest)
	}
	if _, err := images.Append(ctx, "scratch", host+"/hello:1", []string{tree}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := images.Append(ctx, host+"/base:1", host+"/app:3", []string{filepath.Join(dir, "missing.tar")}, nil); err == nil || !strings.Contains(err.Error(), "missing.tar") {
		t.Errorf("a missing layer file: %v, want an error naming it", err)
	}
	if _, err := images.Append(ctx, host+"/base:1", host+"/app:3", nil, nil); err == nil {
		t.Error("appending nothing succeeded")
	}
}
