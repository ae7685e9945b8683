//go:build unix

package layout_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/internal/traptest"
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

// A Layout keeps the directory it opened: when the directory is renamed
// away and its name made a link to another layout while the Layout is in
// use (another user who owns the parent can do both), what follows still
// goes into the directory it opened, and the other layout is untouched.
func TestLayoutStaysInItsDirectory(t *testing.T) {
	l, dir := create(t)
	defer l.Close()
	victim := filepath.Join(t.TempDir(), "victim")
	v, err := layout.Create(victim)
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	before := tree(t, victim)
	if err := os.Rename(dir, dir+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, dir); err != nil {
		t.Fatal(err)
	}
	im := buildImage(t, "amd64", map[string]string{"a": "b"}, true)
	pushImage(t, l, im, "v1")
	if got := tree(t, victim); len(got) != len(before) || string(got["index.json"]) != string(before["index.json"]) {
		t.Fatalf("the layout the link points to changed: %d files, index.json %s", len(got), got["index.json"])
	}
	moved, err := layout.Open(dir + ".moved")
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	if got := testtool.FetchAll(t, moved, im.manifest.desc); !bytes.Equal(got, im.manifest.data) {
		t.Fatal("the manifest is not in the directory the Layout opened")
	}
	if !l.Holds(moved) {
		t.Error("Holds: a Layout of the same directory, opened by another name, does not count")
	}
}

// In a layout others can write, a blob another user put under a digest's
// name is trusted only when it hashes to that digest; one that does not is
// not counted by Exists, and Push replaces it (and reports it).
func TestForeignBlobHashedBeforeTrusted(t *testing.T) {
	traptest.NeedRoot(t)
	l, dir := create(t)
	defer l.Close()
	b := blob{desc: manifest.DescriptorFor(manifest.MediaTypeOCILayer, []byte("layer bytes")), data: []byte("layer bytes")}
	name := blobFile(dir, b.desc.Digest)
	os.MkdirAll(filepath.Dir(name), 0o755)
	plant := func(data []byte) {
		t.Helper()
		os.Remove(name)
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(name, traptest.OtherUID, traptest.OtherUID); err != nil {
			t.Fatal(err)
		}
	}
	plant(b.data)
	if ok, err := l.Exists(context.Background(), b.desc); !ok || err != nil {
		t.Fatalf("Exists of another user's blob with the right bytes = %v, %v; want true", ok, err)
	}
	plant([]byte("other bytes"))
	if ok, err := l.Exists(context.Background(), b.desc); ok || err != nil {
		t.Fatalf("Exists of another user's blob with other bytes = %v, %v; want false", ok, err)
	}
	var reported []string
	defer safefile.SetReporter(func(line string) { reported = append(reported, line) })()
	push(t, l, b)
	if got, _ := os.ReadFile(name); !bytes.Equal(got, b.data) {
		t.Fatalf("after a push the blob holds %q", got)
	}
	if fi, err := os.Stat(name); err != nil || !safefile.Mine(fi) {
		t.Fatalf("after a push the blob is not root's: %v", err)
	}
	if len(reported) != 1 || !strings.Contains(reported[0], "owned by uid") {
		t.Errorf("reported %q, want one line naming the other owner", reported)
	}
}
