package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/server"
)

// sessionServer is skiff's own registry server on loopback, whose open
// upload sessions are the files of its upload directory.
type sessionServer struct {
	*httptest.Server
	uploads string
}

func startSessionServer(t *testing.T, max int) *sessionServer {
	root := t.TempDir()
	uploads := filepath.Join(root, server.UploadsDir)
	srv := server.New(&server.Options{Storage: server.NewLayoutStorage(root), UploadDir: uploads, MaxUploadSessions: max})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return &sessionServer{hs, uploads}
}

// open counts the server's upload sessions.
func (s *sessionServer) open(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir(s.uploads)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return len(entries)
}

var errSource = errors.New("the source failed")

// failing is a source that fails at its first read.
type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errSource }

func (failing) Fetch(context.Context, manifest.Descriptor) (io.ReadCloser, error) {
	return nil, errSource
}

// blob is a blob big enough to go up through an upload session.
func blob(seed string) ([]byte, manifest.Descriptor) {
	b := bytes.Repeat([]byte(seed), (2<<20)/len(seed))
	return b, manifest.DescriptorFor("application/octet-stream", b)
}

// TestFailedPushesCloseTheirSessions: a push whose source fails (a plain
// reader, a copy's fetch that overlapped the session's POST, a stream, a
// resumable push that could not open its source) closes the session it
// opened, so that a registry counting sessions (skiff's own, with
// --max-upload-sessions 1 here) takes the next push at once.
func TestFailedPushesCloseTheirSessions(t *testing.T) {
	srv := startSessionServer(t, 1)
	c := &registry.Client{ResumeDir: t.TempDir()}
	repo := newRepo(t, c, srv.Server, "a/b")
	ctx := t.Context()
	_, desc := blob("x")
	pushes := map[string]func() error{
		"Push":         func() error { return repo.Push(ctx, desc, failing{}) },
		"Push, copied": func() error { return repo.Push(ctx, desc, manifest.FetchAsync(ctx, failing{}, desc, nil)) },
		"PushStream": func() error {
			_, err := repo.PushStream(ctx, desc.MediaType, io.MultiReader(strings.NewReader("some"), failing{}))
			return err
		},
		"PushResumable": func() error {
			return repo.PushResumable(ctx, desc, func(int64) (io.ReadCloser, error) { return nil, errSource })
		},
		"Push, chunked": func() error {
			chunked := &registry.Client{ChunkSize: 1 << 20}
			return newRepo(t, chunked, srv.Server, "a/b").Push(ctx, desc, io.MultiReader(bytes.NewReader(make([]byte, 1<<20)), failing{}))
		},
	}
	for name, push := range pushes {
		if err := push(); !errors.Is(err, errSource) {
			t.Fatalf("%s: %v, want the source's error", name, err)
		}
		if n := srv.open(t); n != 0 {
			t.Fatalf("%s left %d sessions open", name, n)
		}
	}
	b, desc := blob("y")
	if err := repo.Push(ctx, desc, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

// TestInterruptedResumablePushKeepsItsSession: a resumable push cut
// after its session was saved keeps it, for the next run to continue.
func TestInterruptedResumablePushKeepsItsSession(t *testing.T) {
	srv := startSessionServer(t, 0)
	c := &registry.Client{ResumeDir: t.TempDir()}
	repo := newRepo(t, c, srv.Server, "a/b")
	b, desc := blob("z")
	cut := func(int64) (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(bytes.NewReader(b[:len(b)/2]), failing{})), nil
	}
	if err := repo.PushResumable(t.Context(), desc, cut); err == nil {
		t.Fatal("a push whose source failed succeeded")
	}
	if n := srv.open(t); n != 1 {
		t.Fatalf("%d sessions open, want the one saved", n)
	}
	whole := func(off int64) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b[off:])), nil }
	if err := repo.PushResumable(t.Context(), desc, whole); err != nil {
		t.Fatal(err)
	}
	if n := srv.open(t); n != 0 {
		t.Fatalf("%d sessions open after the push completed", n)
	}
}

// TestDiscardUploads: the sessions PrepareUploads opened that no push
// took are closed by DiscardUploads, those still being opened included.
func TestDiscardUploads(t *testing.T) {
	srv := startSessionServer(t, 3)
	repo := newRepo(t, &registry.Client{}, srv.Server, "a/b")
	repo.PrepareUploads(t.Context(), 3)
	small := []byte("a config")
	if err := repo.Push(t.Context(), manifest.DescriptorFor("application/octet-stream", small), bytes.NewReader(small)); err != nil {
		t.Fatal(err)
	}
	repo.DiscardUploads(t.Context())
	if n := srv.open(t); n != 0 {
		t.Fatalf("%d sessions open after DiscardUploads", n)
	}
}
