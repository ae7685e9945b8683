package images_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// TestPoolBoundsAndSharesAcrossCopies runs eight copies at once into one
// store through a pool of 3 slots: no more than 3 pushes ever run
// together, and the base layer all eight images share is pushed once.
func TestPoolBoundsAndSharesAcrossCopies(t *testing.T) {
	src, dst := newMemStore(), newMemStore()
	base := src.put(manifest.MediaTypeOCILayerGzip, bytes.Repeat([]byte("base"), 50000))
	var roots []manifest.Descriptor
	for i := range 8 {
		top := src.put(manifest.MediaTypeOCILayerGzip, bytes.Repeat([]byte{byte(i)}, 3000+i))
		cfg := src.put(manifest.MediaTypeOCIConfig, []byte(`{"architecture":"amd64","os":"linux","n":`+string(rune('0'+i))+`}`))
		raw, _ := json.Marshal(manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest, Config: cfg, Layers: []manifest.Descriptor{base, top}})
		roots = append(roots, src.put(manifest.MediaTypeOCIManifest, raw))
	}
	pool := images.NewPool(3)
	var wg sync.WaitGroup
	errs := make(chan error, len(roots))
	for _, r := range roots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := images.CopyDescriptor(t.Context(), dst, src, r, &images.CopyOptions{Jobs: 3, Pool: pool})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := dst.peak.Load(); p > 3 {
		t.Fatalf("%d pushes at once through a pool of 3", p)
	}
	n := 0
	for _, d := range dst.pushes {
		if d == base.Digest {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the shared base layer was pushed %d times, want once", n)
	}
	if got := src.fetches[base.Digest]; got != 1 {
		t.Fatalf("the shared base layer was fetched %d times, want once", got)
	}
}

// gatedStore is a memStore whose pushes wait for gate to close, telling
// started when each begins.
type gatedStore struct {
	*memStore
	started chan struct{}
	gate    chan struct{}
}

func (g *gatedStore) Push(ctx context.Context, d manifest.Descriptor, r io.Reader) error {
	g.started <- struct{}{}
	<-g.gate
	return g.memStore.Push(ctx, d, r)
}

// TestPoolCanceledWhileWaiting: a copy waiting for the pool's only slot
// gives up when its context ends, and leaves the pool as it found it.
func TestPoolCanceledWhileWaiting(t *testing.T) {
	src := newMemStore()
	first := src.putImage(t, "amd64", 100)
	second := src.putImage(t, "arm64", 300)
	dst := &gatedStore{memStore: newMemStore(), started: make(chan struct{}, 8), gate: make(chan struct{})}
	pool := images.NewPool(1)
	done := make(chan error, 1)
	go func() {
		_, err := images.CopyDescriptor(t.Context(), dst, src, first, &images.CopyOptions{Pool: pool})
		done <- err
	}()
	<-dst.started // the first copy holds the slot
	ctx, cancel := context.WithCancel(t.Context())
	waiting := make(chan error, 1)
	go func() {
		_, err := images.CopyDescriptor(ctx, dst, src, second, &images.CopyOptions{Pool: pool})
		waiting <- err
	}()
	cancel()
	if err := <-waiting; !errors.Is(err, context.Canceled) {
		t.Fatalf("a copy canceled while waiting for a slot: %v", err)
	}
	close(dst.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := images.CopyDescriptor(t.Context(), dst, src, second, &images.CopyOptions{Pool: pool}); err != nil {
		t.Fatalf("the pool kept a slot or a claim after a canceled copy: %v", err)
	}
	if pool.Size() != 1 {
		t.Fatalf("Size() = %d", pool.Size())
	}
}
