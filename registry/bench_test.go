package registry_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// BenchmarkFetchBlob pulls a 256 MiB blob over loopback, verified as it
// streams. Run: go test ./registry -run '^$' -bench FetchBlob -benchmem
// allocs/MB = allocs/op / 256.
func BenchmarkFetchBlob(b *testing.B) {
	const size = 256 << 20
	blob := bytes.Repeat([]byte("skiff-bench-data"), size/16)
	desc := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, blob)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/blobs/"+string(desc.Digest)) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Header().Set("Docker-Content-Digest", string(desc.Digest))
		w.Write(blob)
	}))
	defer srv.Close()
	repo := newRepo(b, &registry.Client{}, srv, "bench/blob")
	buf := make([]byte, 1<<20)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rc, err := repo.Fetch(b.Context(), desc)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{rc}, buf); err != nil || n != size {
			b.Fatalf("%d bytes, %v", n, err)
		}
		rc.Close()
	}
}
