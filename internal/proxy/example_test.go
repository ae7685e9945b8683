package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/skiffoci/skiff/internal/proxy"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// Serve an image to another process: its manifest in OCI form, then each
// blob it names, verified on the way. The image here sits in an OCI layout;
// a registry.Repository serves the same way (skiff proxy REF).
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "proxy-example")
	defer os.RemoveAll(dir)
	l, _ := layout.Create(dir)
	im, _ := testimage.New(testimage.Options{LayerSizes: []int{4096, 2048}, Seed: 1})
	if err := testimage.Push(ctx, l, im, "v1"); err != nil {
		fmt.Println(err)
		return
	}
	root, _ := l.Resolve(ctx, "v1")

	h, err := proxy.New(ctx, l, root, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(h) // skiff proxy: --sockfd, unix:PATH or loopback
	defer srv.Close()

	// The other process's side: GET /manifest, then GET /blobs/DIGEST.
	resp, _ := http.Get(srv.URL + "/manifest")
	var m manifest.Manifest
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	fmt.Println("original digest matches:", resp.Header.Get("Manifest-Digest") == string(root.Digest))
	for _, d := range append([]manifest.Descriptor{m.Config}, m.Layers...) {
		resp, _ := http.Get(srv.URL + "/blobs/" + string(d.Digest))
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, n == d.Size)
	}
	resp, _ = http.Get(srv.URL + "/blobs/sha256:not-a-digest")
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// 200 OK application/vnd.oci.image.manifest.v1+json
	// original digest matches: true
	// 200 true
	// 200 true
	// 200 true
	// 400
}
