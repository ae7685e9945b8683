package layout_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

func TestFetchModifiedBlob(t *testing.T) {
	l, dir := create(t)
	b := blob{desc: manifest.DescriptorFor(manifest.MediaTypeOCILayer, []byte("hello")), data: []byte("hello")}
	push(t, l, b)
	if err := os.WriteFile(blobFile(dir, b.desc.Digest), []byte("jello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fetchErr(l, b.desc); !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("fetch of a modified blob: %v, want ErrDigestMismatch", err)
	}
}

func TestFetchTruncatedBlob(t *testing.T) {
	l, dir := create(t)
	b := blob{desc: manifest.DescriptorFor(manifest.MediaTypeOCILayer, []byte("hello")), data: []byte("hello")}
	push(t, l, b)
	if err := os.Truncate(blobFile(dir, b.desc.Digest), 3); err != nil {
		t.Fatal(err)
	}
	if err := fetchErr(l, b.desc); !errors.Is(err, manifest.ErrSizeMismatch) {
		t.Fatalf("fetch of a truncated blob: %v, want ErrSizeMismatch", err)
	}
	if ok, err := l.Exists(context.Background(), b.desc); ok || err != nil {
		t.Fatalf("Exists of a truncated blob = %v, %v", ok, err)
	}
	push(t, l, b) // a push repairs it
	if got := testtool.FetchAll(t, l, b.desc); string(got) != "hello" {
		t.Fatalf("after repair: %q", got)
	}
}

func TestFetchDirectoryBlob(t *testing.T) {
	l, dir := create(t)
	d := manifest.FromString("dir")
	if err := os.MkdirAll(blobFile(dir, d), 0o755); err != nil {
		t.Fatal(err)
	}
	desc := manifest.Descriptor{MediaType: manifest.MediaTypeOCILayer, Digest: d, Size: 3}
	if err := fetchErr(l, desc); !errors.Is(err, layout.ErrNotRegular) {
		t.Fatalf("fetch of a directory: %v, want ErrNotRegular", err)
	}
}

func TestPushMismatch(t *testing.T) {
	data := []byte("the real content")
	good := manifest.DescriptorFor(manifest.MediaTypeOCILayer, data)
	cases := map[string]struct {
		desc manifest.Descriptor
		want error
	}{
		"digest": {manifest.Descriptor{MediaType: good.MediaType, Digest: manifest.FromString("other"), Size: good.Size}, manifest.ErrDigestMismatch},
		"short":  {manifest.Descriptor{MediaType: good.MediaType, Digest: good.Digest, Size: good.Size + 1}, manifest.ErrSizeMismatch},
		"long":   {manifest.Descriptor{MediaType: good.MediaType, Digest: good.Digest, Size: good.Size - 1}, manifest.ErrSizeMismatch},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			l, dir := create(t)
			err := l.Push(context.Background(), c.desc, bytes.NewReader(data))
			if !errors.Is(err, c.want) {
				t.Fatalf("push: %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), string(c.desc.Digest)) {
				t.Errorf("error %q does not name the digest", err)
			}
			checkNothingWritten(t, dir, c.desc.Digest)
		})
	}
}

func TestPushInterrupted(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100_000)
	desc := manifest.DescriptorFor(manifest.MediaTypeOCILayer, data)
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprintf("SyncBlobs=%v/reader error", sync), func(t *testing.T) {
			l, dir := create(t)
			l.SyncBlobs = sync
			err := l.Push(context.Background(), desc, &errReader{data: data[:len(data)/2], err: errBoom})
			if !errors.Is(err, errBoom) {
				t.Fatalf("push: %v, want the reader's error", err)
			}
			checkNothingWritten(t, dir, desc.Digest)
		})
		t.Run(fmt.Sprintf("SyncBlobs=%v/context canceled", sync), func(t *testing.T) {
			l, dir := create(t)
			l.SyncBlobs = sync
			ctx, cancel := context.WithCancel(context.Background())
			r := &cancelReader{r: bytes.NewReader(data), after: len(data) / 3, cancel: cancel}
			err := l.Push(ctx, desc, r)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("push: %v, want context.Canceled", err)
			}
			checkNothingWritten(t, dir, desc.Digest)
		})
		t.Run(fmt.Sprintf("SyncBlobs=%v/whole", sync), func(t *testing.T) {
			l, dir := create(t)
			l.SyncBlobs = sync
			if err := l.Push(context.Background(), desc, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", desc.Digest.Hex()))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("stored blob: %d bytes, %v", len(got), err)
			}
			entries, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
			if len(entries) != 1 {
				t.Fatalf("blobs/sha256 holds %d entries, want the blob alone", len(entries))
			}
		})
	}
}

// cancelReader cancels a context once it has yielded after bytes.
type cancelReader struct {
	r      io.Reader
	after  int
	n      int
	cancel func()
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.n >= c.after {
		c.cancel()
	}
	n, err := c.r.Read(p[:min(len(p), 4096)])
	c.n += n
	return n, err
}

func checkNothingWritten(t *testing.T, dir string, d manifest.Digest) {
	t.Helper()
	if _, err := os.Lstat(blobFile(dir, d)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file exists under the final name: %v", err)
	}
	checkNoTemp(t, dir)
}

func TestFailedTagKeepsIndex(t *testing.T) {
	ctx := context.Background()
	l, dir := create(t)
	im := buildImage(t, "amd64", map[string]string{"a": "a"}, false)
	pushImage(t, l, im, "v1")
	before := tree(t, dir)["index.json"]
	absent := buildImage(t, "amd64", map[string]string{"b": "b"}, false)
	if err := l.Tag(ctx, absent.manifest.desc, "v1"); err == nil {
		t.Fatal("tag of an absent manifest succeeded")
	}
	bad := im.manifest.desc
	bad.Digest = "sha256:../x"
	if err := l.AddDescriptor(ctx, bad); !errors.Is(err, manifest.ErrInvalidDigest) {
		t.Fatalf("AddDescriptor with a bad digest: %v", err)
	}
	// A crash mid-write leaves a temporary file, never a broken index.json.
	os.WriteFile(dir+"/.tmp-index.json-123", []byte(`{"schemaVers`), 0o644)
	if after := tree(t, dir)["index.json"]; !bytes.Equal(before, after) {
		t.Fatalf("index.json changed:\n%s\n%s", before, after)
	}
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := l.Resolve(ctx, "v1"); err != nil || d.Digest != im.manifest.desc.Digest {
		t.Fatalf("resolve v1 = %v, %v", d.Digest, err)
	}
}

var badDigests = []string{
	"sha256:../x",
	"sha256:../../../../etc/passwd",
	"sha256:" + strings.Repeat("A", 64),
	"sha256:" + strings.Repeat("a", 63),
	"sha256:" + strings.Repeat("a", 63) + "/",
	"md5:" + strings.Repeat("a", 32),
	"sha256",
	"",
}

func TestBadDigestsRejected(t *testing.T) {
	ctx := context.Background()
	l, dir := create(t)
	before := tree(t, dir)
	rec := &recordFS{MapFS: fstest.MapFS{
		"oci-layout": {Data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		"index.json": {Data: []byte(`{"schemaVersion":2,"manifests":[]}`)},
	}}
	r, err := layout.FromFS(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range badDigests {
		rec.names = nil
		desc := manifest.Descriptor{MediaType: manifest.MediaTypeOCILayer, Digest: manifest.Digest(s), Size: 1}
		for name, err := range map[string]error{
			"push":   l.Push(ctx, desc, strings.NewReader("x")),
			"fetch":  fetchErr(l, desc),
			"rfetch": fetchErr(r, desc),
			"exists": existsErr(r, desc),
		} {
			if !errors.Is(err, manifest.ErrInvalidDigest) {
				t.Errorf("%s %q: %v, want ErrInvalidDigest", name, s, err)
			}
		}
		if len(rec.names) != 0 {
			t.Errorf("%q: the file system was asked for %q", s, rec.names)
		}
	}
	for _, s := range badDigests[:5] {
		if _, err := r.Resolve(ctx, s); !errors.Is(err, manifest.ErrInvalidDigest) {
			t.Errorf("resolve %q: %v, want ErrInvalidDigest", s, err)
		}
	}
	if after := tree(t, dir); len(after) != len(before) {
		t.Errorf("files were written: %d before, %d after", len(before), len(after))
	}
}

func existsErr(e manifest.Exister, desc manifest.Descriptor) error {
	_, err := e.Exists(context.Background(), desc)
	return err
}

// recordFS records the names of blobs it is asked about.
type recordFS struct {
	fstest.MapFS
	names []string
}

func (r *recordFS) Open(name string) (fs.File, error) {
	r.record(name)
	return r.MapFS.Open(name)
}

func (r *recordFS) Lstat(name string) (fs.FileInfo, error) {
	r.record(name)
	if l, ok := any(r.MapFS).(interface {
		Lstat(string) (fs.FileInfo, error)
	}); ok {
		return l.Lstat(name) // Go 1.25 and later
	}
	return r.MapFS.Stat(name)
}

func (r *recordFS) record(name string) {
	if strings.HasPrefix(name, "blobs") {
		r.names = append(r.names, name)
	}
}
