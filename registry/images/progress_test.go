package images_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/server"
)

// totalsSeen collects the largest totals events carried, and checks each
// one against the transfer's size.
type totalsSeen struct {
	t    *testing.T
	mu   sync.Mutex
	max  manifest.Totals
	size manifest.Totals // Blobs and Bytes every event must carry
	n    int
}

func (s *totalsSeen) event(e manifest.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tr := e.Transfer
	if s.n == 0 {
		s.size = manifest.Totals{Blobs: tr.Blobs, Bytes: tr.Bytes}
	}
	s.n++
	if tr.Blobs != s.size.Blobs || tr.Bytes != s.size.Bytes || tr.BlobsDone > tr.Blobs || tr.BytesDone > tr.Bytes {
		s.t.Errorf("event %v %s: totals %+v do not fit %+v", e.State, e.Desc.Digest.Short(), tr, s.size)
	}
	s.max.BlobsDone, s.max.BytesDone = max(s.max.BlobsDone, tr.BlobsDone), max(s.max.BytesDone, tr.BytesDone)
}

// check asserts the transfer was blobs blobs of bytes bytes, all done.
func (s *totalsSeen) check(blobs int, bytes int64) {
	s.t.Helper()
	want := manifest.Totals{Blobs: blobs, BlobsDone: blobs, Bytes: bytes, BytesDone: bytes}
	got := manifest.Totals{Blobs: s.size.Blobs, Bytes: s.size.Bytes, BlobsDone: s.max.BlobsDone, BytesDone: s.max.BytesDone}
	if got != want {
		s.t.Errorf("totals reached %+v, want %+v", got, want)
	}
}

// graphBlobs sums the blobs of the image or index root names in m.
func graphBlobs(t *testing.T, m *memStore, root manifest.Descriptor) (int, int64) {
	g, err := images.Walk(t.Context(), m, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, b := range g.Blobs {
		n += b.Size
	}
	return len(g.Blobs), n
}

// A copy's events carry the totals of the whole copy: blobs moved, found
// in the destination and skipped alike count, and the totals reach the
// whole without the caller adding anything up.
func TestCopyProgressTotals(t *testing.T) {
	src, dst := newMemStore(), newMemStore()
	root, children := indexOf(t, src, 3)
	doc, _ := manifest.Parse(src.blobs[children[1].Digest], "")
	have := doc.Manifest.Layers[0]
	dst.blobs[have.Digest] = src.blobs[have.Digest] // found, not moved
	blobs, size := graphBlobs(t, src, root)
	seen := &totalsSeen{t: t}
	if _, err := images.CopyDescriptor(t.Context(), dst, src, root, &images.CopyOptions{Jobs: 2, Progress: seen.event}); err != nil {
		t.Fatal(err)
	}
	seen.check(blobs, size)
}

// Image.Write reports the config, the new layers and the base's layers,
// with the totals of all of them.
func TestWriteProgressTotals(t *testing.T) {
	base, _, _ := richImage(t) // one layer, in its store
	img, err := base.AppendLayer(newMemLayer(bytes.Repeat([]byte("n"), 500)), manifest.History{})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := img.Manifest()
	want := doc.Manifest.Config.Size
	for _, l := range doc.Manifest.Layers {
		want += l.Size
	}
	seen := &totalsSeen{t: t}
	if _, err := img.Write(t.Context(), newMemStore(), "v1", &images.WriteOptions{Progress: seen.event}); err != nil {
		t.Fatal(err)
	}
	seen.check(3, want)
}

// Index.Write sums every platform it writes: the replaced one's new
// blobs and the others' copied ones.
func TestIndexWriteProgressTotals(t *testing.T) {
	m := newMemStore()
	root, _ := indexOf(t, m, 2)
	m.tags["multi"] = root
	ix, err := images.OpenIndexFrom(t.Context(), m, "multi")
	if err != nil {
		t.Fatal(err)
	}
	p := manifest.Platform{OS: "linux", Architecture: "archa"}
	im, err := ix.Image(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	im = im.EditConfig(images.ConfigChanges{Env: []string{"A=1"}})
	if ix, err = ix.Replace(p, im); err != nil {
		t.Fatal(err)
	}
	cfg, _ := im.RawConfig()
	blobs, size := graphBlobs(t, m, root)
	seen := &totalsSeen{t: t}
	if _, err := ix.Write(t.Context(), newMemStore(), "multi", &images.WriteOptions{Progress: seen.event}); err != nil {
		t.Fatal(err)
	}
	// The replaced platform's new config takes the place of its old one.
	idx, _ := manifest.Parse(m.blobs[root.Digest], "")
	old, _ := manifest.Parse(m.blobs[idx.Index.Manifests[0].Digest], "")
	seen.check(blobs, size-old.Manifest.Config.Size+int64(len(cfg)))
}

// A big blob a layout fetches in ranges reports its bytes from the
// layout; those events carry the copy's totals as the others do.
func TestCopyToLayoutRangedProgressTotals(t *testing.T) {
	var ranged atomic.Int64
	reg := server.New(nil)
	slow := registrytest.SlowRanges(reg) // ranges at once, not one fast connection alone
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			ranged.Add(1)
		}
		slow.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/big/image:1"
	im, err := imagestest.Random(17<<20, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.Write(t.Context(), im, ref, nil); err != nil {
		t.Fatal(err)
	}
	doc, _ := im.Manifest()
	size := doc.Manifest.Config.Size + doc.Manifest.Layers[0].Size
	var layerEvents atomic.Int64
	seen := &totalsSeen{t: t}
	opts := &images.Options{RangeMin: 1 << 20, Progress: func(e manifest.Event) {
		if e.Desc.Digest == doc.Manifest.Layers[0].Digest && e.State == manifest.StateProgress {
			layerEvents.Add(1)
		}
		seen.event(e)
	}}
	if _, err := images.Copy(t.Context(), ref, "oci:"+filepath.Join(t.TempDir(), "layout"), opts); err != nil {
		t.Fatal(err)
	}
	if ranged.Load() < 3 { // ranges of 8 MiB
		t.Fatalf("the %d-byte layer was fetched with %d Range requests, want it in ranges", doc.Manifest.Layers[0].Size, ranged.Load())
	}
	if layerEvents.Load() == 0 {
		t.Fatal("no progress events of the layer fetched in ranges")
	}
	seen.check(2, size)
}
