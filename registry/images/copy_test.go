package images_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// memStore is a content store in memory that counts what happens to it.
type memStore struct {
	mu      sync.Mutex
	blobs   map[manifest.Digest][]byte
	tags    map[string]manifest.Descriptor
	fetches map[manifest.Digest]int
	pushes  []manifest.Digest
	failOn  manifest.Digest
	active  atomic.Int32
	peak    atomic.Int32
}

func newMemStore() *memStore {
	return &memStore{blobs: map[manifest.Digest][]byte{}, tags: map[string]manifest.Descriptor{}, fetches: map[manifest.Digest]int{}}
}

func (m *memStore) Fetch(_ context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fetches[d.Digest]++
	if d.Digest == m.failOn {
		return nil, errors.New("injected fetch failure")
	}
	b, ok := m.blobs[d.Digest]
	if !ok {
		return nil, fmt.Errorf("%s: %w", d.Digest, manifest.ErrNotFound)
	}
	return io.NopCloser(manifest.NewVerifyingReader(bytes.NewReader(b), d)), nil
}

func (m *memStore) Push(_ context.Context, d manifest.Descriptor, r io.Reader) error {
	if !manifest.IsManifest(d.MediaType) && !manifest.IsIndex(d.MediaType) {
		// Blobs at once, what a Pool bounds: the manifests one copy
		// pushes once its blobs are stored may overlap another's blobs.
		n := m.active.Add(1)
		defer m.active.Add(-1)
		for p := m.peak.Load(); n > p && !m.peak.CompareAndSwap(p, n); p = m.peak.Load() {
		}
	}
	b, err := io.ReadAll(manifest.NewVerifyingReader(r, d))
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[d.Digest] = b
	m.pushes = append(m.pushes, d.Digest)
	return nil
}

func (m *memStore) Exists(_ context.Context, d manifest.Descriptor) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.blobs[d.Digest]
	return ok, nil
}

func (m *memStore) Resolve(_ context.Context, ref string) (manifest.Descriptor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.tags[ref]
	if !ok {
		return d, manifest.ErrNotFound
	}
	return d, nil
}

func (m *memStore) Tag(_ context.Context, d manifest.Descriptor, tag string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tags[tag] = d
	return nil
}

func (m *memStore) put(mt string, b []byte) manifest.Descriptor {
	d := manifest.DescriptorFor(mt, b)
	m.blobs[d.Digest] = b
	return d
}

// putImage stores an image with layers of the given sizes and returns its
// manifest's descriptor.
func (m *memStore) putImage(t *testing.T, arch string, layerSizes ...int) manifest.Descriptor {
	t.Helper()
	cfg := m.put(manifest.MediaTypeOCIConfig, []byte(`{"architecture":"`+arch+`","os":"linux"}`))
	man := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest, Config: cfg, Layers: []manifest.Descriptor{}}
	for i, n := range layerSizes {
		data := bytes.Repeat([]byte{byte(i)}, n)
		man.Layers = append(man.Layers, m.put(manifest.MediaTypeOCILayerGzip, data))
	}
	raw, _ := json.Marshal(man)
	d := m.put(manifest.MediaTypeOCIManifest, raw)
	d.Platform = &manifest.Platform{OS: "linux", Architecture: arch}
	return d
}

func (m *memStore) putIndex(children ...manifest.Descriptor) manifest.Descriptor {
	raw, _ := json.Marshal(manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: children})
	return m.put(manifest.MediaTypeOCIIndex, raw)
}

func TestCopyWholeIndex(t *testing.T) {
	src, dst := newMemStore(), newMemStore()
	amd := src.putImage(t, "amd64", 10, 20)
	arm := src.putImage(t, "arm64", 10, 30) // shares the 10-byte layer
	root := src.putIndex(amd, arm)
	got, err := images.CopyDescriptor(t.Context(), dst, src, root, &images.CopyOptions{Tag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != root.Digest || dst.tags["v1"].Digest != root.Digest {
		t.Fatalf("root %s, tag %v", got.Digest, dst.tags["v1"])
	}
	for d := range src.blobs {
		if !bytes.Equal(src.blobs[d], dst.blobs[d]) {
			t.Errorf("%s not copied", d)
		}
		if src.fetches[d] > 1 {
			t.Errorf("%s fetched %d times", d, src.fetches[d])
		}
	}
	last := dst.pushes[len(dst.pushes)-1]
	if last != root.Digest {
		t.Fatalf("root pushed before its children: order %v", dst.pushes)
	}
}

func TestCopyOnePlatform(t *testing.T) {
	src, dst := newMemStore(), newMemStore()
	amd := src.putImage(t, "amd64", 10)
	arm := src.putImage(t, "arm64", 11)
	root := src.putIndex(amd, arm)
	want, _ := manifest.ParsePlatform("linux/arm64/v8")
	got, err := images.CopyDescriptor(t.Context(), dst, src, root, &images.CopyOptions{Platforms: []manifest.Platform{want}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != arm.Digest {
		t.Fatalf("root = %s, want the arm64 manifest %s", got.Digest, arm.Digest)
	}
	if _, ok := dst.blobs[amd.Digest]; ok {
		t.Fatal("the amd64 manifest was copied too")
	}
	if _, ok := dst.blobs[root.Digest]; ok {
		t.Fatal("the index was copied")
	}
}

func TestCopySeveralPlatforms(t *testing.T) {
	src, dst := newMemStore(), newMemStore()
	amd := src.putImage(t, "amd64", 10)
	arm := src.putImage(t, "arm64", 11)
	s390 := src.putImage(t, "s390x", 12)
	root := src.putIndex(amd, arm, s390)
	p1, _ := manifest.ParsePlatform("linux/amd64")
	p2, _ := manifest.ParsePlatform("linux/s390x")
	got, err := images.CopyDescriptor(t.Context(), dst, src, root, &images.CopyOptions{Platforms: []manifest.Platform{p1, p2}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := manifest.Parse(dst.blobs[got.Digest], got.MediaType)
	if err != nil || len(doc.Index.Manifests) != 2 || doc.Index.Manifests[1].Digest != s390.Digest {
		t.Fatalf("new index: %v %s", err, dst.blobs[got.Digest])
	}
	if _, ok := dst.blobs[arm.Digest]; ok {
		t.Fatal("an unselected platform was copied")
	}
	p3, _ := manifest.ParsePlatform("linux/ppc64le")
	_, err = images.CopyDescriptor(t.Context(), dst, src, root, &images.CopyOptions{Platforms: []manifest.Platform{p3}})
	if !errors.Is(err, manifest.ErrNotFound) || !strings.Contains(err.Error(), "linux/ppc64le") || !strings.Contains(err.Error(), "linux/arm64") {
		t.Fatalf("missing platform: %v", err)
	}
}

func TestCopySkipsExistingAndLargestFirst(t *testing.T) {
	src, dst := newMemStore(), newMemStore()
	img := src.putImage(t, "amd64", 5, 50, 500)
	doc, _ := manifest.Parse(src.blobs[img.Digest], "")
	have := doc.Manifest.Layers[1]
	dst.blobs[have.Digest] = src.blobs[have.Digest]
	if _, err := images.CopyDescriptor(t.Context(), dst, src, img, &images.CopyOptions{Jobs: 1}); err != nil {
		t.Fatal(err)
	}
	if src.fetches[have.Digest] != 0 {
		t.Fatal("a blob the destination had was fetched")
	}
	want := []manifest.Digest{doc.Manifest.Layers[2].Digest, doc.Manifest.Config.Digest, doc.Manifest.Layers[0].Digest, img.Digest}
	if fmt.Sprint(dst.pushes) != fmt.Sprint(want) {
		t.Fatalf("push order %v, want largest first then the manifest %v", dst.pushes, want)
	}
}

func TestCopyBoundedParallelism(t *testing.T) {
	src, dst := newMemStore(), newMemStore()
	sizes := make([]int, 20)
	for i := range sizes {
		sizes[i] = 1000 + i
	}
	img := src.putImage(t, "amd64", sizes...)
	if _, err := images.CopyDescriptor(t.Context(), dst, src, img, &images.CopyOptions{Jobs: 3}); err != nil {
		t.Fatal(err)
	}
	if p := dst.peak.Load(); p > 3 {
		t.Fatalf("%d pushes at once, want at most 3", p)
	}
}

func TestCopyFailureStopsBeforeManifests(t *testing.T) {
	src, dst := newMemStore(), newMemStore()
	img := src.putImage(t, "amd64", 10, 20)
	doc, _ := manifest.Parse(src.blobs[img.Digest], "")
	src.failOn = doc.Manifest.Layers[0].Digest
	_, err := images.CopyDescriptor(t.Context(), dst, src, img, &images.CopyOptions{Tag: "x"})
	if err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("err = %v", err)
	}
	if _, ok := dst.blobs[img.Digest]; ok || len(dst.tags) != 0 {
		t.Fatal("manifest or tag pushed although a layer failed")
	}
}

func TestCopyRefusesCyclesAndDepth(t *testing.T) {
	src, dst := newMemStore(), newMemStore()
	// An index that names itself cannot be built by digest, so build a
	// nest deeper than MaxDepth and a fake store whose index answers for
	// its own child digest.
	d := src.putImage(t, "amd64", 1)
	for range manifest.MaxDepth + 2 {
		d = src.putIndex(d)
	}
	if _, err := images.CopyDescriptor(t.Context(), dst, src, d, nil); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Fatalf("deep nesting: %v", err)
	}
	cyc := newMemStore()
	self := manifest.Digest("sha256:" + strings.Repeat("a", 64))
	raw, _ := json.Marshal(manifest.Index{SchemaVersion: 2, Manifests: []manifest.Descriptor{{MediaType: manifest.MediaTypeOCIIndex, Digest: self, Size: 1}}})
	lie := &lyingStore{memStore: cyc, raw: raw}
	_, err := images.CopyDescriptor(t.Context(), dst, lie, manifest.Descriptor{MediaType: manifest.MediaTypeOCIIndex, Digest: self, Size: 1}, nil)
	// Verification refuses the lying bytes before the cycle check would.
	if err == nil || !strings.Contains(err.Error(), "contains itself") && !errors.Is(err, manifest.ErrSizeMismatch) {
		t.Fatalf("cycle: %v", err)
	}
}

// lyingStore serves raw for every digest without verifying, like a
// Fetcher that trusts its source; Copy must still terminate.
type lyingStore struct {
	*memStore
	raw []byte
}

func (l *lyingStore) Fetch(context.Context, manifest.Descriptor) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.raw)), nil
}

func TestCopyForeignAndProgress(t *testing.T) {
	src, dst := newMemStore(), newMemStore()
	cfg := src.put(manifest.MediaTypeDockerConfig, []byte(`{}`))
	foreign := manifest.Descriptor{MediaType: manifest.MediaTypeDockerForeignLayer, Digest: manifest.FromString("far away"), Size: 8, URLs: []string{"https://example.com/x"}}
	layer := src.put(manifest.MediaTypeDockerLayer, bytes.Repeat([]byte("x"), 100000))
	raw, _ := json.Marshal(manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeDockerManifest, Config: cfg, Layers: []manifest.Descriptor{foreign, layer}})
	img := src.put(manifest.MediaTypeDockerManifest, raw)
	var mu sync.Mutex
	states := map[manifest.Digest][]manifest.State{}
	var last int64
	progress := func(e manifest.Event) {
		mu.Lock()
		defer mu.Unlock()
		states[e.Desc.Digest] = append(states[e.Desc.Digest], e.State)
		if e.Desc.Digest == layer.Digest && e.State == manifest.StateProgress {
			last = e.Bytes
		}
	}
	if _, err := images.CopyDescriptor(t.Context(), dst, src, img, &images.CopyOptions{Progress: progress}); err != nil {
		t.Fatal(err)
	}
	if s := states[foreign.Digest]; len(s) != 1 || s[0] != manifest.StateSkipped {
		t.Fatalf("foreign layer states %v", s)
	}
	if s := states[layer.Digest]; s[0] != manifest.StateStart || s[len(s)-1] != manifest.StateDone || last != layer.Size {
		t.Fatalf("layer states %v, last progress %d", s, last)
	}
}

// mountingStore mounts every blob it is asked to.
type mountingStore struct {
	*memStore
	mounts int
}

func (m *mountingStore) MountFrom(_ context.Context, d manifest.Descriptor, src manifest.Fetcher) (bool, error) {
	from, ok := src.(*memStore)
	if !ok {
		return false, nil
	}
	m.mounts++
	m.blobs[d.Digest] = from.blobs[d.Digest]
	return true, nil
}

func TestCopyMounts(t *testing.T) {
	src := newMemStore()
	dst := &mountingStore{memStore: newMemStore()}
	img := src.putImage(t, "amd64", 10, 20)
	if _, err := images.CopyDescriptor(t.Context(), dst, src, img, &images.CopyOptions{Jobs: 1}); err != nil {
		t.Fatal(err)
	}
	if dst.mounts != 3 {
		t.Fatalf("%d mounts, want 3 (config and two layers)", dst.mounts)
	}
	for d, n := range src.fetches {
		if d != img.Digest && n > 0 {
			t.Fatalf("blob %s was fetched although it was mounted", d)
		}
	}
}

// verifiedSource hands out readers that verify, as registries and
// layouts do.
type verifiedSource struct{ *memStore }

func (v verifiedSource) Fetch(_ context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	v.mu.Lock()
	b, ok := v.blobs[d.Digest]
	v.mu.Unlock()
	if !ok {
		return nil, manifest.ErrNotFound
	}
	return manifest.VerifyReadCloser(io.NopCloser(bytes.NewReader(b)), d), nil
}

// rehashCounter records the blobs whose reader a store would have to hash
// again.
type rehashCounter struct {
	*memStore
	rehashed atomic.Int32
}

func (s *rehashCounter) Push(ctx context.Context, d manifest.Descriptor, r io.Reader) error {
	if !manifest.NewVerifier(r, d).Reused() && d.MediaType == manifest.MediaTypeOCILayerGzip {
		s.rehashed.Add(1)
	}
	return s.memStore.Push(ctx, d, r)
}

// TestCopyHashesOnce: with progress reporting on, the reader a store gets
// still verifies, so a store's Verifier hashes a blob once per copy, not twice.
func TestCopyHashesOnce(t *testing.T) {
	src := newMemStore()
	root := src.putImage(t, "amd64", 1000, 2000, 3000)
	dst := &rehashCounter{memStore: newMemStore()}
	var events atomic.Int32
	progress := func(manifest.Event) { events.Add(1) }
	if _, err := images.CopyDescriptor(t.Context(), dst, verifiedSource{src}, root, &images.CopyOptions{Progress: progress}); err != nil {
		t.Fatal(err)
	}
	if n := dst.rehashed.Load(); n != 0 || events.Load() == 0 {
		t.Fatalf("%d of 3 layers would be hashed twice (%d progress events)", n, events.Load())
	}
}
