//go:build unix

package layout_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

func TestSymlinkedBlobRefused(t *testing.T) {
	l, dir := create(t)
	b := blob{desc: manifest.DescriptorFor(manifest.MediaTypeOCILayer, []byte("secret")), data: []byte("secret")}
	// The link's target has exactly the right content: only the link is wrong.
	target := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(target, b.data, 0o644)
	name := blobFile(dir, b.desc.Digest)
	os.MkdirAll(filepath.Dir(name), 0o755)
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
	if err := fetchErr(l, b.desc); !errors.Is(err, layout.ErrNotRegular) {
		t.Fatalf("fetch of a symlinked blob: %v, want ErrNotRegular", err)
	}
	if ok, err := l.Exists(context.Background(), b.desc); ok || err != nil {
		t.Fatalf("Exists of a symlinked blob = %v, %v", ok, err)
	}
	r, err := layout.FromFS(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := fetchErr(r, b.desc); !errors.Is(err, layout.ErrNotRegular) {
		t.Fatalf("fetch through os.DirFS: %v, want ErrNotRegular", err)
	}
	// A push replaces the link with a real file and leaves the target alone.
	push(t, l, b)
	if info, err := os.Lstat(name); err != nil || !info.Mode().IsRegular() {
		t.Fatalf("after push: %v, %v", info, err)
	}
	if got := testtool.FetchAll(t, l, b.desc); string(got) != "secret" {
		t.Fatalf("after push: %q", got)
	}
}

func TestSymlinkedIndexRefused(t *testing.T) {
	_, dir := create(t)
	index := filepath.Join(dir, "index.json")
	moved := filepath.Join(dir, "real-index.json")
	os.Rename(index, moved)
	if err := os.Symlink(moved, index); err != nil {
		t.Fatal(err)
	}
	if _, err := layout.Open(dir); !errors.Is(err, layout.ErrNotRegular) {
		t.Fatalf("open with a symlinked index.json: %v, want ErrNotRegular", err)
	}
}

func TestFIFOBlobRefused(t *testing.T) {
	l, dir := create(t)
	d := manifest.FromString("fifo")
	name := blobFile(dir, d)
	os.MkdirAll(filepath.Dir(name), 0o755)
	if err := syscall.Mkfifo(name, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	desc := manifest.Descriptor{MediaType: manifest.MediaTypeOCILayer, Digest: d, Size: 4}
	done := make(chan error, 1)
	go func() { done <- fetchErr(l, desc) }()
	select {
	case err := <-done:
		if !errors.Is(err, layout.ErrNotRegular) {
			t.Fatalf("fetch of a FIFO: %v, want ErrNotRegular", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fetch of a FIFO blob hangs")
	}
}

func TestFIFOIndexRefused(t *testing.T) {
	_, dir := create(t)
	index := filepath.Join(dir, "index.json")
	os.Remove(index)
	if err := syscall.Mkfifo(index, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := layout.Open(dir)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, layout.ErrNotRegular) {
			t.Fatalf("open with a FIFO index.json: %v, want ErrNotRegular", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("open with a FIFO index.json hangs")
	}
}
