package images_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// jam holds every call it lets in until the caller's context ends, except
// the one for fail, which fails once jobs calls are in at once. It counts
// the calls, the most at once, and those that saw their context end.
type jam struct {
	jobs int
	fail manifest.Digest

	mu                         sync.Mutex
	active, peak, started, cxl int
	full                       chan struct{} // closed when jobs calls are in
	fullOnce                   sync.Once
}

func newJam(jobs int, fail manifest.Digest) *jam {
	return &jam{jobs: jobs, fail: fail, full: make(chan struct{})}
}

func (j *jam) enter(ctx context.Context, d manifest.Digest) error {
	j.mu.Lock()
	j.active++
	j.started++
	j.peak = max(j.peak, j.active)
	if j.active >= j.jobs {
		j.fullOnce.Do(func() { close(j.full) })
	}
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		j.active--
		j.mu.Unlock()
	}()
	if d == j.fail {
		select {
		case <-j.full:
		case <-ctx.Done():
		}
		return errors.New("injected failure")
	}
	<-ctx.Done()
	j.mu.Lock()
	j.cxl++
	j.mu.Unlock()
	return ctx.Err()
}

// check asserts that no more than jobs calls ran at once, that none
// started after the failure, and that the others were cancelled.
func (j *jam) check(t *testing.T, err error) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Errorf("err = %v, want the injected failure", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.peak > j.jobs {
		t.Errorf("%d calls at once, want at most Jobs = %d", j.peak, j.jobs)
	}
	if j.started != j.jobs {
		t.Errorf("%d calls started, want %d: none after the first error", j.started, j.jobs)
	}
	if j.cxl != j.jobs-1 {
		t.Errorf("%d calls saw their context cancelled, want the other %d", j.cxl, j.jobs-1)
	}
}

// backstop bounds a test whose code under test would otherwise wait
// forever for a cancellation that does not come.
func backstop(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// jamPushes is a memStore whose pushes of the media types kinds selects
// go through a jam.
type jamPushes struct {
	*memStore
	jam   *jam
	jamOn func(mediaType string) bool
}

func (s *jamPushes) Push(ctx context.Context, d manifest.Descriptor, r io.Reader) error {
	if s.jamOn(d.MediaType) {
		return s.jam.enter(ctx, d.Digest)
	}
	return s.memStore.Push(ctx, d, r)
}

// jamFetches is a memStore whose fetches of the digests in jammed go
// through a jam.
type jamFetches struct {
	*memStore
	jam    *jam
	jammed map[manifest.Digest]bool
}

func (s *jamFetches) Fetch(ctx context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	if s.jammed[d.Digest] {
		return nil, s.jam.enter(ctx, d.Digest)
	}
	return s.memStore.Fetch(ctx, d)
}

// indexOf stores an index of n one-layer images in m and returns it and
// its children.
func indexOf(t *testing.T, m *memStore, n int) (manifest.Descriptor, []manifest.Descriptor) {
	var children []manifest.Descriptor
	for i := range n {
		children = append(children, m.putImage(t, "arch"+string(rune('a'+i)), 10+i))
	}
	return m.putIndex(children...), children
}

// The manifests of one level are pushed Jobs at a time, and the first
// failure cancels the others and starts no more.
func TestCopyManifestsBoundedAndCancelled(t *testing.T) {
	src := newMemStore()
	root, children := indexOf(t, src, 10)
	j := newJam(3, children[0].Digest)
	dst := &jamPushes{memStore: newMemStore(), jam: j, jamOn: manifest.IsManifest}
	_, err := images.CopyDescriptor(backstop(t), dst, src, root, &images.CopyOptions{Jobs: 3})
	j.check(t, err)
}

// Blobs: the same, largest first.
func TestCopyBlobsBoundedAndCancelled(t *testing.T) {
	src := newMemStore()
	img := src.putImage(t, "amd64", 900, 100, 101, 102, 103, 104, 105, 106)
	doc, _ := manifest.Parse(src.blobs[img.Digest], "")
	j := newJam(3, doc.Manifest.Layers[0].Digest) // the largest goes first
	dst := &jamPushes{memStore: newMemStore(), jam: j, jamOn: isLayer}
	_, err := images.CopyDescriptor(backstop(t), dst, src, img, &images.CopyOptions{Jobs: 3})
	j.check(t, err)
}

// A Pool's size is the bound when Jobs is not set.
func TestCopyBoundedByPool(t *testing.T) {
	src := newMemStore()
	root, children := indexOf(t, src, 10)
	j := newJam(2, children[0].Digest)
	dst := &jamPushes{memStore: newMemStore(), jam: j, jamOn: manifest.IsManifest}
	_, err := images.CopyDescriptor(backstop(t), dst, src, root, &images.CopyOptions{Pool: images.NewPool(2)})
	j.check(t, err)
}

// The walk fetches an index's children Jobs at a time, each goroutine
// started only once it has its slot, and the first failure cancels the
// rest.
func TestWalkBoundedAndCancelled(t *testing.T) {
	m := newMemStore()
	root, children := indexOf(t, m, 10)
	j := newJam(3, children[0].Digest)
	src := &jamFetches{memStore: m, jam: j, jammed: map[manifest.Digest]bool{}}
	for _, c := range children {
		src.jammed[c.Digest] = true
	}
	_, err := images.Walk(backstop(t), src, root, &images.WalkOptions{Jobs: 3})
	j.check(t, err)
}

// memLayer is a new layer held in memory.
type memLayer struct {
	data []byte
	desc manifest.Descriptor
}

func newMemLayer(b []byte) memLayer {
	return memLayer{b, manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, b)}
}

func (l memLayer) Describe() (manifest.Descriptor, manifest.Digest) { return l.desc, l.desc.Digest }
func (l memLayer) Open() (io.ReadCloser, error) {
	return io.NopCloser(manifest.NewVerifyingReader(bytes.NewReader(l.data), l.desc)), nil
}

// Write pushes the config and the new layers Jobs at a time.
func TestWriteBoundedAndCancelled(t *testing.T) {
	img := images.Scratch(manifest.Platform{OS: "linux", Architecture: "amd64"})
	for i := range 6 {
		var err error
		if img, err = img.AppendLayer(newMemLayer([]byte{byte(i)}), manifest.History{}); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	j := newJam(2, doc.Manifest.Config.Digest) // the config goes first
	dst := &jamPushes{memStore: newMemStore(), jam: j, jamOn: func(mt string) bool { return !manifest.IsManifest(mt) }}
	_, err = img.Write(backstop(t), dst, "", &images.WriteOptions{Jobs: 2})
	j.check(t, err)
}

func isLayer(mt string) bool {
	return strings.Contains(mt, ".layer.") || strings.Contains(mt, ".rootfs.")
}
