package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/distribution"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// uploadSource serves a blob from any offset, verified from 0 as stores
// do, and cancels after limit bytes when limit is set.
type uploadSource struct {
	data   []byte
	desc   manifest.Descriptor
	read   int64
	limit  int64
	cancel context.CancelFunc
}

func (s *uploadSource) open(off int64) (io.ReadCloser, error) {
	r := io.NopCloser(&sourceReader{s: s, r: bytes.NewReader(s.data[off:])})
	if off == 0 {
		return manifest.VerifyReadCloser(r, s.desc), nil
	}
	return r, nil
}

type sourceReader struct {
	s *uploadSource
	r io.Reader
}

// Read hands out the blob; past limit the link is cut: the push is
// cancelled and the source fails, so the request cannot finish.
func (r *sourceReader) Read(p []byte) (int, error) {
	if r.s.limit > 0 && r.s.read >= r.s.limit {
		r.s.cancel()
		return 0, errors.New("the link is cut")
	}
	want := min(len(p), 32<<10)
	if r.s.limit > 0 {
		want = min(want, int(r.s.limit-r.s.read))
	}
	n, err := r.r.Read(p[:want])
	r.s.read += int64(n)
	return n, err
}

func newUploadSource(n int) *uploadSource {
	data := make([]byte, n)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	return &uploadSource{data: data, desc: manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)}
}

// sentTo counts the blob bytes the registry received in uploads.
func sentTo(srv *registrytest.Server) int64 {
	var n int64
	for _, r := range srv.Log.Requests() {
		if strings.Contains(r.Path, "/blobs/uploads/") {
			n += r.BytesIn
		}
	}
	return n
}

// TestPushResumableContinuesUpload: an upload cut half-way is continued
// by the next push of the same blob: the registry is asked where the
// session stands, and only the rest is sent; the saved state goes once
// the blob is stored.
func TestPushResumableContinuesUpload(t *testing.T) {
	dir := t.TempDir()
	c, trace := tracedClient(&registry.Client{ResumeDir: dir})
	srv, repo := serve(t, nil, c, "a/b")
	src := newUploadSource(6 << 20)
	ctx, cancel := context.WithCancel(t.Context())
	src.limit, src.cancel = 3<<20, cancel
	if err := repo.PushResumable(ctx, src.desc, src.open); err == nil {
		t.Fatal("the first push succeeded through a cut link")
	}
	awaitSent(t, srv, trace, "the cut push") // its PATCH has stored what it got
	if states, _ := os.ReadDir(dir); len(states) != 1 {
		t.Fatalf("after the cut, the resume directory holds %d files", len(states))
	}
	src.limit, src.read = 0, 0
	if err := repo.PushResumable(t.Context(), src.desc, src.open); err != nil {
		t.Fatal(err)
	}
	statusAsked := srv.Log.Count(func(r registrytest.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.Path, "/blobs/uploads/")
	})
	continued := srv.Log.Count(func(r registrytest.Request) bool {
		return r.Method == http.MethodPatch && !strings.HasPrefix(r.Header.Get("Content-Range"), "0-")
	})
	if sent := sentTo(srv); statusAsked != 1 || continued != 1 || sent != src.desc.Size {
		t.Fatalf("the registry got %d bytes for a blob of %d (status asked %d times, %d PATCHes continuing): the upload was not continued", sent, src.desc.Size, statusAsked, continued)
	}
	if got, err := fetchAll(t, repo, src.desc); err != nil || !bytes.Equal(got, src.data) {
		t.Fatalf("the blob stored: %v", err)
	}
	if states, _ := os.ReadDir(dir); len(states) != 0 {
		t.Fatalf("the upload's state stayed: %v", states)
	}
}

// TestPushResumableForgottenSession: a registry that lost the session
// gets a new upload of the whole blob.
func TestPushResumableForgottenSession(t *testing.T) {
	dir := t.TempDir()
	c, trace := tracedClient(&registry.Client{ResumeDir: dir})
	srv, repo := serve(t, nil, c, "a/b")
	src := newUploadSource(3 << 20)
	ctx, cancel := context.WithCancel(t.Context())
	src.limit, src.cancel = 2<<20, cancel
	repo.PushResumable(ctx, src.desc, src.open)
	awaitSent(t, srv, trace, "the cut push")
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/uploads/"), Status: http.StatusNotFound, Code: "BLOB_UPLOAD_UNKNOWN"})
	src.limit = 0
	if err := repo.PushResumable(t.Context(), src.desc, src.open); err != nil {
		t.Fatal(err)
	}
	var got int64 // what the uploads that succeeded carried: the cut one failed
	for _, r := range srv.Log.Requests() {
		if strings.Contains(r.Path, "/blobs/uploads/") && r.Status < 300 {
			got += r.BytesIn
		}
	}
	if got != src.desc.Size {
		t.Fatalf("after a forgotten session the registry got %d bytes of %d", got, src.desc.Size)
	}
}

// TestPushResumableWrongSource: a source whose bytes do not match the
// digest fails the upload and leaves no state to resume from.
func TestPushResumableWrongSource(t *testing.T) {
	dir := t.TempDir()
	c, _ := testClient(&registry.Client{ResumeDir: dir})
	_, repo := serve(t, nil, c, "a/b")
	src := newUploadSource(2 << 20)
	src.data[100] ^= 1
	if err := repo.PushResumable(t.Context(), src.desc, src.open); err == nil {
		t.Fatal("a wrong source was stored")
	}
	if states, _ := os.ReadDir(dir); len(states) != 0 {
		t.Fatalf("state kept for a wrong source: %v", states)
	}
}

// TestIntegrationDistributionResumedPush: against Debian's docker-registry
// (distribution 2.8), a push cut half-way and pushed again stores the
// blob whole, whether the registry kept the session or not.
func TestIntegrationDistributionResumedPush(t *testing.T) {
	reg := distribution.Start(t, nil)
	dir := t.TempDir()
	var trace bytes.Buffer
	c := &registry.Client{ResumeDir: dir, Trace: &trace}
	ref, _ := reference.Parse(reg.Host + "/resume/blob")
	repo := c.Repository(ref)
	src := newUploadSource(8 << 20)
	ctx, cancel := context.WithCancel(t.Context())
	src.limit, src.cancel = 3<<20, cancel
	if err := repo.PushResumable(ctx, src.desc, src.open); err == nil {
		t.Fatal("the cut push succeeded")
	}
	src.limit, src.read = 0, 0
	if err := repo.PushResumable(t.Context(), src.desc, src.open); err != nil {
		t.Fatal(err)
	}
	t.Logf("the second push read %d bytes of the source's %d:\n%s", src.read, src.desc.Size, trace.String())
	if got, err := fetchAll(t, repo, src.desc); err != nil || !bytes.Equal(got, src.data) {
		t.Fatalf("the blob stored: %v", err)
	}
	if states, _ := os.ReadDir(dir); len(states) != 0 {
		t.Fatalf("the upload's state stayed: %v", states)
	}
}
