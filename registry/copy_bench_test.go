package registry_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
)

func benchRepo(b *testing.B, c *registry.Client, url, name string) *registry.Repository {
	b.Helper()
	ref, err := reference.Parse(strings.TrimPrefix(url, "http://") + "/" + name)
	if err != nil {
		b.Fatal(err)
	}
	return c.Repository(ref)
}

// BenchmarkCopy copies an image of four random layers (8 MiB in all)
// between two in-process registries: GET from one streamed into PUT to the
// other. Each iteration copies into a fresh registry, so no blob is
// skipped; starting and stopping it is not timed.
func BenchmarkCopy(b *testing.B) {
	reg := registrytest.New(nil)
	defer reg.Close()
	src := httptest.NewServer(reg)
	defer src.Close()
	c := &registry.Client{}
	im, err := testimage.New(testimage.Options{LayerSizes: []int{3 << 20, 2 << 20, 2 << 20, 1 << 20}, Seed: 5})
	if err != nil {
		b.Fatal(err)
	}
	from := benchRepo(b, c, src.URL, "bench/src")
	if err := testimage.Push(b.Context(), from, im, "v1"); err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, l := range im.Layers {
		size += int64(len(l))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dreg := registrytest.New(nil)
		dst := httptest.NewServer(dreg)
		to := benchRepo(b, c, dst.URL, "bench/dst")
		b.StartTimer()
		if _, err := images.CopyDescriptor(b.Context(), to, from, im.Descriptor(), &images.CopyOptions{Tag: "v1"}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		dst.Close()
		dreg.Close()
		b.StartTimer()
	}
}
