package layout_test

import (
	"bytes"
	"context"
	"errors"
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

const ociLayout = `{"imageLayoutVersion":"1.0.0"}`

// mapFSOf returns the files of a layout directory as a MapFS.
func mapFSOf(t *testing.T, dir string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range tree(t, dir) {
		fsys[name] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	return fsys
}

func TestFromMapFS(t *testing.T) {
	ctx := context.Background()
	l, dir := create(t)
	amd := buildImage(t, "amd64", map[string]string{"hello": "amd64\n"}, true)
	arm := buildImage(t, "arm64", map[string]string{"hello": "arm64\n"}, true)
	pushImage(t, l, amd, "amd")
	pushImage(t, l, arm, "arm")
	idx := buildIndex(t, amd, arm)
	push(t, l, idx)
	if err := l.Tag(ctx, idx.desc, "latest"); err != nil {
		t.Fatal(err)
	}

	r, err := layout.FromFS(mapFSOf(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	for tag, want := range map[string]blob{"amd": amd.manifest, "arm": arm.manifest, "latest": idx} {
		d, err := r.Resolve(ctx, tag)
		if err != nil || d.Digest != want.desc.Digest {
			t.Fatalf("resolve %s: %v, %v", tag, d.Digest, err)
		}
		if got := testtool.FetchAll(t, r, d); !bytes.Equal(got, want.data) {
			t.Fatalf("%s: content differs", tag)
		}
	}
	for _, b := range append(amd.blobs(), arm.blobs()...) {
		if ok, err := r.Exists(ctx, b.desc); !ok || err != nil {
			t.Fatalf("Exists %s = %v, %v", b.desc.Digest, ok, err)
		}
		testtool.FetchAll(t, r, b.desc)
	}
	absent := manifest.DescriptorFor(manifest.MediaTypeOCILayer, []byte("absent"))
	if _, err := r.Fetch(ctx, absent); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("fetch of an absent blob: %v, want ErrNotFound", err)
	}
}

func TestMapFSSymlinkRefused(t *testing.T) {
	data := []byte("secret")
	d := manifest.DescriptorFor(manifest.MediaTypeOCILayer, data)
	fsys := fstest.MapFS{
		"oci-layout":                     {Data: []byte(ociLayout)},
		"index.json":                     {Data: []byte(`{"schemaVersion":2,"manifests":[]}`)},
		"outside":                        {Data: data},
		"blobs/sha256/" + d.Digest.Hex(): {Data: []byte("../../outside"), Mode: fs.ModeSymlink},
	}
	r, err := layout.FromFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if err := fetchErr(r, d); !errors.Is(err, layout.ErrNotRegular) {
		t.Fatalf("fetch of a symlink: %v, want ErrNotRegular", err)
	}
}

func TestBadIndex(t *testing.T) {
	d := manifest.FromString("x")
	cases := map[string]string{
		"not JSON":       `{"schemaVersion":2,`,
		"trailing data":  `{"schemaVersion":2,"manifests":[]} {}`,
		"schema 1":       `{"schemaVersion":1}`,
		"a manifest":     `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + string(d) + `","size":1},"layers":[]}`,
		"docker list":    `{"schemaVersion":2,"mediaType":"` + manifest.MediaTypeDockerManifestList + `","manifests":[]}`,
		"bad entry":      `{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"sha256:../x","size":1}]}`,
		"negative size":  `{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"` + string(d) + `","size":-5}]}`,
		"empty file":     ``,
		"an array":       `[]`,
		"wrong version":  `{"schemaVersion":3,"manifests":[]}`,
		"ambiguous kind": `{"schemaVersion":2,"manifests":[],"layers":[]}`,
	}
	for name, index := range cases {
		fsys := fstest.MapFS{"oci-layout": {Data: []byte(ociLayout)}, "index.json": {Data: []byte(index)}}
		if _, err := layout.FromFS(fsys); err == nil || !strings.HasPrefix(err.Error(), "layout: ") {
			t.Errorf("%s: FromFS = %v, want an error prefixed layout:", name, err)
		}
	}
}

func TestOversizedIndex(t *testing.T) {
	big := `{"schemaVersion":2,"manifests":[],"annotations":{"x":"` + strings.Repeat("a", layout.MaxIndexSize) + `"}}`
	fsys := fstest.MapFS{"oci-layout": {Data: []byte(ociLayout)}, "index.json": {Data: []byte(big)}}
	var limit *manifest.LimitError
	if _, err := layout.FromFS(fsys); !errors.As(err, &limit) {
		t.Fatalf("FromFS with a huge index.json: %v, want *manifest.LimitError", err)
	}
}

func TestNotALayout(t *testing.T) {
	cases := map[string]fstest.MapFS{
		"no oci-layout": {"index.json": {Data: []byte(`{"schemaVersion":2,"manifests":[]}`)}},
		"no index.json": {"oci-layout": {Data: []byte(ociLayout)}},
		"version 2":     {"oci-layout": {Data: []byte(`{"imageLayoutVersion":"2.0.0"}`)}, "index.json": {Data: []byte(`{"schemaVersion":2,"manifests":[]}`)}},
		"no version":    {"oci-layout": {Data: []byte(`{}`)}, "index.json": {Data: []byte(`{"schemaVersion":2,"manifests":[]}`)}},
		"bad JSON":      {"oci-layout": {Data: []byte(`{`)}, "index.json": {Data: []byte(`{"schemaVersion":2,"manifests":[]}`)}},
		"dir index":     {"oci-layout": {Data: []byte(ociLayout)}, "index.json/x": {Data: nil}},
	}
	for name, fsys := range cases {
		if _, err := layout.FromFS(fsys); err == nil {
			t.Errorf("%s: FromFS succeeded", name)
		}
	}
}

func FuzzIndex(f *testing.F) {
	d := manifest.FromString("x")
	f.Add([]byte(`{"schemaVersion":2,"manifests":[]}`), "latest")
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"`+manifest.MediaTypeOCIManifest+`","digest":"`+string(d)+`","size":1,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}`), "v1")
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:../x"}]}`), string(d))
	if golden, err := os.ReadFile(filepath.Join(goldenDir, "index.json")); err == nil {
		f.Add(golden, "v1")
	}
	f.Fuzz(func(t *testing.T, index []byte, ref string) {
		fsys := fstest.MapFS{"oci-layout": {Data: []byte(ociLayout)}, "index.json": {Data: index}}
		r, err := layout.FromFS(fsys)
		if err != nil {
			return
		}
		idx, err := r.Index()
		if err != nil {
			t.Fatalf("FromFS accepted an index that Index refuses: %v", err)
		}
		for _, e := range idx.Manifests {
			if err := e.Digest.Validate(); err != nil {
				t.Fatalf("accepted an entry with a bad digest: %v", err)
			}
		}
		r.Resolve(context.Background(), ref)
	})
}
