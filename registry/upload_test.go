package registry_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
)

// pushBlob pushes a random blob of n bytes and reads it back.
func pushBlob(t *testing.T, repo *registry.Repository, n int) (manifest.Descriptor, error) {
	t.Helper()
	im, _ := testimage.New(testimage.Options{LayerSizes: []int{n}, Seed: 99})
	data := im.Layers[0]
	desc := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)
	if err := repo.Push(t.Context(), desc, bytes.NewReader(data)); err != nil {
		return desc, err
	}
	got, err := fetchAll(t, repo, desc)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %v", err)
	}
	return desc, nil
}

func TestChunkedUpload(t *testing.T) {
	c, _ := testClient(&registry.Client{ChunkSize: 64 << 10})
	srv, repo := serve(t, nil, c, "a/b")
	desc, err := pushBlob(t, repo, 300<<10)
	if err != nil {
		t.Fatal(err)
	}
	if want := int(desc.Size+(64<<10)-1) / (64 << 10); srv.Log.Count(is("PATCH", "/blobs/uploads/")) != want {
		t.Fatalf("%d PATCHes, want %d", srv.Log.Count(is("PATCH", "")), want)
	}
}

func TestChunkMinLengthHonoured(t *testing.T) {
	c, _ := testClient(&registry.Client{ChunkSize: 64 << 10})
	srv, repo := serve(t, &registrytest.Options{ChunkMinLength: 256 << 10}, c, "a/b")
	desc, err := pushBlob(t, repo, 600<<10)
	if err != nil {
		t.Fatalf("push with a 256 KiB minimum chunk: %v", err)
	}
	patches := 0
	for _, r := range srv.Log.Requests() {
		last := strings.HasSuffix(r.Header.Get("Content-Range"), "-"+strconv.FormatInt(desc.Size-1, 10))
		if r.Method == "PATCH" {
			patches++
			if r.BytesIn < 256<<10 && !last {
				t.Fatalf("a %d-byte chunk under the minimum", r.BytesIn)
			}
		}
	}
	if patches != 3 {
		t.Fatalf("%d PATCHes, want 3 of 256 KiB or less", patches)
	}
}

func TestReliability35_413ShrinksChunks(t *testing.T) {
	c, _ := testClient(&registry.Client{ChunkSize: 512 << 10})
	srv, repo := serve(t, &registrytest.Options{MaxChunkLength: 100 << 10}, c, "a/b")
	if _, err := pushBlob(t, repo, 1500<<10); err != nil {
		t.Fatalf("push against a 100 KiB chunk limit: %v", err)
	}
	if srv.Log.Count(func(r registrytest.Request) bool { return r.Method == "PATCH" && r.Status == 413 }) == 0 {
		t.Fatal("the registry never refused a chunk: the test proves nothing")
	}
}

func TestReliability34_416ContinuesFromStatus(t *testing.T) {
	c, _ := testClient(&registry.Client{ChunkSize: 64 << 10})
	srv, repo := serve(t, nil, c, "a/b")
	n := 0
	srv.Faults.Add(registrytest.Fault{Status: 416, Times: 1, Match: func(r *http.Request) bool {
		if r.Method == "PATCH" {
			n++
			return n == 3
		}
		return false
	}})
	if _, err := pushBlob(t, repo, 300<<10); err != nil {
		t.Fatal(err)
	}
	if srv.Log.Count(is("GET", "/blobs/uploads/")) != 1 {
		t.Fatal("the upload's status was not asked after the 416")
	}
}

func TestReliability34_StuckUploadFails(t *testing.T) {
	c, _ := testClient(&registry.Client{ChunkSize: 64 << 10})
	srv, repo := serve(t, nil, c, "a/b")
	srv.Faults.Add(registrytest.Fault{Status: 416, Match: registrytest.Route("PATCH", "")})
	_, err := pushBlob(t, repo, 200<<10)
	if err == nil || !strings.Contains(err.Error(), "stuck") {
		t.Fatalf("err = %v", err)
	}
	if n := srv.Log.Count(is("PATCH", "")); n > 10 {
		t.Fatalf("%d PATCHes: the retries are not bounded", n)
	}
}

func TestPushMonolithicFallsBackToPut(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, &registrytest.Options{NoSinglePOST: true}, c, "a/b")
	if _, err := pushBlob(t, repo, 10<<10); err != nil {
		t.Fatal(err)
	}
	if srv.Log.Count(is("PUT", "/blobs/uploads/")) != 1 {
		t.Fatal("no PUT after the POST opened a session")
	}
	srv.Log.Reset()
	if _, err := pushBlob(t, repo, 3<<20); err != nil { // a large blob: POST, then one streamed PUT
		t.Fatal(err)
	}
	if srv.Log.Count(is("POST", "")) != 1 || srv.Log.Count(is("PUT", "")) != 1 || srv.Log.Count(is("PATCH", "")) != 0 {
		t.Fatalf("large blob requests: %+v", srv.Log.Requests())
	}
}

func TestPushLyingSourceFails(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, nil, c, "a/b")
	for _, n := range []int{100, 2 << 20} {
		data := bytes.Repeat([]byte("x"), n)
		desc := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)
		data[0] = 'y'
		if err := repo.Push(t.Context(), desc, bytes.NewReader(data)); err == nil {
			t.Fatalf("%d bytes: a push whose bytes do not match succeeded", n)
		}
		if ok, _ := repo.Exists(t.Context(), desc); ok {
			t.Fatalf("%d bytes: the registry holds a blob under a digest its bytes do not have", n)
		}
	}
	_ = srv
}

func TestCopyWithinRegistryMounts(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, src := serve(t, nil, c, "team/base")
	im := seed(t, srv, nil, "team/base", "v1", 1<<20, 1000)
	dst := repoOn(t, c, srv, "team/app")
	dst.WillPush()
	if _, err := images.CopyDescriptor(t.Context(), dst, src, im.Descriptor(), &images.CopyOptions{Tag: "v1"}); err != nil {
		t.Fatal(err)
	}
	if n := srv.Log.Count(is("GET", "/blobs/")); n != 0 {
		t.Fatalf("%d blob GETs during a same-registry copy", n)
	}
	var moved int64
	for _, r := range srv.Log.Requests() {
		moved += r.BytesIn
	}
	if moved > 8<<10 {
		t.Fatalf("%d bytes uploaded for a mounted copy", moved)
	}
	if d, err := dst.Resolve(t.Context(), "v1"); err != nil || d.Digest != im.Manifest.Digest {
		t.Fatalf("copied tag: %v %v", d, err)
	}
}
