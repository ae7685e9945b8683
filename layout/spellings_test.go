package layout_test

import (
	"errors"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

// TestResolveSpellings: a layout resolves a tag, a digest, and a whole
// reference: by the entry named with the same reference (in any
// spelling), else by its digest, else by its tag. A malformed reference
// is refused as such; an unknown one is not found.
func TestResolveSpellings(t *testing.T) {
	ctx := t.Context()
	l, _ := create(t)
	v1 := buildImage(t, "amd64", map[string]string{"a": "1\n"}, true)
	named := buildImage(t, "arm64", map[string]string{"a": "2\n"}, true)
	pushImage(t, l, v1, "v1")
	pushImage(t, l, named, "app:2")
	a, b := v1.manifest.desc.Digest, named.manifest.desc.Digest
	for ref, want := range map[string]manifest.Digest{
		"v1":                              a,
		string(a):                         a,
		"ghcr.io/o/app:v1":                a, // by its tag
		"localhost:5000/x/y:v1":           a,
		"ghcr.io/o/app@" + string(a):      a, // by its digest
		"ghcr.io/o/other:v1@" + string(a): a,
		"app:2":                           b, // the entry's own name
		"docker.io/library/app:2":         b, // the same reference, spelled in full
		"index.docker.io/library/app:2@" + string(b): b,
	} {
		d, err := l.Resolve(ctx, ref)
		if err != nil || d.Digest != want {
			t.Errorf("Resolve(%q) = %s, %v; want %s", ref, d.Digest, err, want)
		}
	}
	for _, ref := range []string{"v2", "ghcr.io/o/app:v2", "ghcr.io/o/app:3", "ghcr.io/o/app:2"} {
		if _, err := l.Resolve(ctx, ref); !errors.Is(err, manifest.ErrNotFound) {
			t.Errorf("Resolve(%q) = %v; want not found", ref, err)
		}
	}
	for _, ref := range []string{"UPPER/case:v1", "ghcr.io/o/app@sha256:../x", "sha256:../x"} {
		if _, err := l.Resolve(ctx, ref); err == nil || errors.Is(err, manifest.ErrNotFound) {
			t.Errorf("Resolve(%q) = %v; want it refused as malformed", ref, err)
		}
	}
}
