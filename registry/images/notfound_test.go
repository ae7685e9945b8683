package images_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/tarball"
)

// Every way of not finding an image matches registry.ErrNotFound, as
// ExampleOpen_errors promises: a platform an index lacks, a tag a layout
// or a tarball lacks, a blob an image does not hold.
func TestEveryNotFoundIsRegistryErrNotFound(t *testing.T) {
	ctx := t.Context()
	m := newMemStore()
	amd := m.putImage(t, "amd64", 10)
	idx := m.putIndex(amd)
	m.tags["multi"] = idx
	lay, err := layout.Create(filepath.Join(t.TempDir(), "lay"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.CopyDescriptor(ctx, lay, m, amd, &images.CopyOptions{Tag: "1"}); err != nil {
		t.Fatal(err)
	}
	img, err := images.OpenDescriptor(ctx, m, amd)
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "one.tar")
	if err := tarball.WriteFile(ctx, tarPath, []tarball.Entry{{Tags: []string{"one:1"}, Source: img}}, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := tarball.OpenFile(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	arm := manifest.Platform{OS: "linux", Architecture: "arm64"}
	cases := map[string]error{}
	_, cases["platform missing from an index"] = images.OpenFrom(ctx, m, "multi", &images.Options{Platforms: []manifest.Platform{arm}})
	_, cases["tag missing from a layout"] = images.OpenFrom(ctx, lay, "2", nil)
	_, cases["tag missing from a tarball"] = images.OpenFrom(ctx, tr, "one:2", nil)
	_, cases["blob an image lacks"] = img.Fetch(ctx, manifest.DescriptorFor("application/octet-stream", []byte("x")))
	for name, err := range cases {
		if !errors.Is(err, registry.ErrNotFound) || !errors.Is(err, manifest.ErrNotFound) {
			t.Errorf("%s: err = %v, want one matching registry.ErrNotFound and manifest.ErrNotFound", name, err)
		}
	}
}
