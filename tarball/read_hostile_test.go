package tarball_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/internal/zstd"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// openErr opens b and returns the error, closing the Reader if there is none.
func openErr(t testing.TB, b []byte, opts *tarball.OpenOptions) error {
	t.Helper()
	r, err := tarball.Open(bytes.NewReader(b), int64(len(b)), opts)
	if err == nil {
		r.Close()
	}
	return err
}

// hostileImage is a tarball whose manifest.json lists config and layers at
// the given paths, with extra entries.
func hostileImage(t testing.TB, config string, layers []string, extra ...tfile) []byte {
	cfg := configJSON(t, "amd64", make([]manifest.Digest, 0))
	if len(layers) > 0 {
		cfg = configJSON(t, "amd64", []manifest.Digest{manifest.FromString("x")})
	}
	mj := mustJSON(t, []tarball.ManifestEntry{{Config: config, Layers: layers}})
	files := append([]tfile{{name: "manifest.json", body: mj}, {name: "config.json", body: string(cfg)}}, extra...)
	return mkTar(t, files...)
}

func TestOpenRejectsUnsafePaths(t *testing.T) {
	for name, b := range map[string][]byte{
		"layer ../../etc/passwd": hostileImage(t, "config.json", []string{"../../etc/passwd"}),
		"layer absolute":         hostileImage(t, "config.json", []string{"/etc/passwd"}),
		"layer backslashes":      hostileImage(t, "config.json", []string{`..\..\x`}),
		"layer drive letter":     hostileImage(t, "config.json", []string{`C:\x`}),
		"config absolute":        hostileImage(t, "/etc/passwd", nil),
		"config climbs":          hostileImage(t, "a/../../config.json", nil),
		"symlink escapes": hostileImage(t, "config.json", []string{"l/layer.tar"},
			symlink("l/layer.tar", "../../../etc/passwd")),
		"symlink absolute": hostileImage(t, "config.json", []string{"l/layer.tar"},
			symlink("l/layer.tar", "/etc/passwd")),
		"hardlink escapes": hostileImage(t, "config.json", []string{"l/layer.tar"},
			tfile{name: "l/layer.tar", typ: tar.TypeLink, link: "../x"}),
	} {
		err := openErr(t, b, nil)
		t.Logf("%s: %v", name, err)
		if !isErr[*tarball.UnsafePathError](err) {
			t.Errorf("%s: %v, want an *UnsafePathError", name, err)
		}
	}
}

func TestOpenLinkCycles(t *testing.T) {
	chain := func(n int) []tfile {
		var fs []tfile
		for i := range n {
			fs = append(fs, symlink(fmt.Sprintf("c%d", i), fmt.Sprintf("c%d", i+1)))
		}
		return append(fs, tfile{name: fmt.Sprintf("c%d", n), body: "{}"})
	}
	for name, b := range map[string][]byte{
		"layers point at each other": hostileImage(t, "config.json", []string{"a/layer.tar"},
			symlink("a/layer.tar", "../b/layer.tar"), symlink("b/layer.tar", "../a/layer.tar")),
		"manifest.json to itself": mkTar(t, symlink("manifest.json", "./manifest.json")),
		"manifest.json loop":      mkTar(t, symlink("manifest.json", "x"), tfile{name: "x", typ: tar.TypeLink, link: "manifest.json"}),
		"41 hops":                 hostileImage(t, "c0", nil, chain(41)...),
	} {
		if err := openErr(t, b, nil); !errors.Is(err, tarball.ErrLinkCycle) {
			t.Errorf("%s: %v, want ErrLinkCycle", name, err)
		}
	}
	// 40 hops end at a config that is "{}": an error about the config, not the chain.
	if err := openErr(t, hostileImage(t, "c0", nil, chain(40)...), nil); errors.Is(err, tarball.ErrLinkCycle) {
		t.Errorf("40 hops: %v", err)
	}
}

func TestOpenBadMetadata(t *testing.T) {
	bigCfg := `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}` + strings.Repeat(" ", manifest.MaxConfigSize)
	good := configJSON(t, "amd64", nil)
	for name, tc := range map[string]struct {
		tar  []byte
		want error
	}{
		"missing config": {hostileImage(t, "nope.json", nil), manifest.ErrNotFound},
		"missing layer":  {hostileImage(t, "config.json", []string{"nope.tar"}), manifest.ErrNotFound},
		"manifest.json too big": {mkTar(t, tfile{name: "manifest.json", body: "[" + strings.Repeat(" ", tarball.MaxManifestJSONSize) + "]"}),
			&manifest.LimitError{}},
		"config too big": {mkTar(t, tfile{name: "manifest.json", body: `[{"Config":"c"}]`}, tfile{name: "c", body: bigCfg}),
			&manifest.LimitError{}},
		"index.json to missing blob": {mkTar(t, tfile{name: "index.json", body: mustJSON(t, manifest.Index{SchemaVersion: 2,
			Manifests: []manifest.Descriptor{manifest.DescriptorFor(manifest.MediaTypeOCIManifest, []byte("{}"))}})}), manifest.ErrNotFound},
		"index.json not an index": {mkTar(t, tfile{name: "index.json", body: `{"schemaVersion":2,"config":{},"layers":[]}`}), nil},
		"diff_ids mismatch":       {hostileImage(t, "config.json", []string{"l", "l"}, tfile{name: "l", body: "x"}), nil},
		"layer is a directory":    {hostileImage(t, "config.json", []string{"d"}, tfile{name: "d/", typ: tar.TypeDir}), nil},
		"invalid manifest.json":   {mkTar(t, tfile{name: "manifest.json", body: `[{"Config":1}]`}), nil},
		"empty manifest.json":     {mkTar(t, tfile{name: "manifest.json", body: `[]`}), nil},
		"bad LayerSources":        {mkTar(t, tfile{name: "manifest.json", body: `[{"Config":"c","LayerSources":{"sha256:x":{}}}]`}), manifest.ErrInvalidDigest},
		"pre-1.10 docker save":    {mkTar(t, tfile{name: "repositories", body: "{}"}), nil},
		"no metadata":             {mkTar(t, tfile{name: "config.json", body: string(good)}), nil},
		"empty tar":               {mkTar(t), nil},
		"empty input":             {nil, nil},
		"not a tar":               {bytes.Repeat([]byte("garbage!"), 200), nil},
		"corrupt zstd":            {[]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0}, zstd.ErrCorrupt},
	} {
		err := openErr(t, tc.tar, nil)
		t.Logf("%s: %v", name, err)
		switch want := tc.want.(type) {
		case nil:
			if err == nil {
				t.Errorf("%s: no error", name)
			}
		case *manifest.LimitError:
			if !isErr[*manifest.LimitError](err) {
				t.Errorf("%s: %v, want a *LimitError", name, err)
			}
		default:
			if !errors.Is(err, want) {
				t.Errorf("%s: %v, want %v", name, err, want)
			}
		}
	}
}

// TestOpenWrongLayerDigest alters a layer of a Docker 25 tarball: opening
// works (layers are not read at open), fetching the layer fails.
func TestOpenWrongLayerDigest(t *testing.T) {
	store := newMemStore()
	img := buildImage(t, store, spec{layers: []string{"a\n", "b\n"}, level: gzip.BestSpeed})
	good := docker25Save(t, img, "x:y")
	layer := img.layers[1]
	for name, swap := range map[string][]byte{
		"same size":  flipByte(layer, len(layer)/2),
		"other size": append(bytes.Clone(layer), 0),
	} {
		bad := mkTar(t, tfileReplace(t, good, blobName(manifest.FromBytes(layer)), swap)...)
		r := openBytes(t, bad)
		_, err := manifest.FetchAll(context.Background(), r, img.doc.Manifest.Layers[1], 1<<20)
		if !errors.Is(err, manifest.ErrDigestMismatch) && !errors.Is(err, manifest.ErrSizeMismatch) {
			t.Errorf("%s: fetch: %v, want a mismatch", name, err)
		}
		testtool.FetchAll(t, r, img.doc.Manifest.Layers[0])
	}
}

// tfileReplace returns the entries of tar b with the content of name replaced.
func tfileReplace(t testing.TB, b []byte, name string, body []byte) []tfile {
	var out []tfile
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if h.Name == name {
			data = body
		}
		out = append(out, tfile{name: h.Name, body: string(data), typ: h.Typeflag, link: h.Linkname})
	}
}

func TestOpenTruncated(t *testing.T) {
	images, _, _ := goldenImages(t)
	full := writeTarball(t, images, nil)
	plan, err := tarball.NewPlan(images, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range plan.Files {
		for _, cut := range []int64{e.HeaderOffset + 100, e.Offset + e.Size/2} {
			if e.Size < 2 && cut > e.HeaderOffset+100 {
				continue
			}
			if err := openErr(t, full[:cut], nil); err == nil {
				t.Errorf("cut at %d (%s): no error", cut, e.Name)
			}
			if err := openErr(t, testtool.Gzip(t, full[:cut], gzip.BestSpeed), &tarball.OpenOptions{TempDir: t.TempDir()}); err == nil {
				t.Errorf("gzip'd, cut at %d (%s): no error", cut, e.Name)
			}
		}
	}
}

// boundedReaderAt serves b followed by zeros up to size, recording the
// furthest offset read.
type boundedReaderAt struct {
	b        []byte
	size     int64
	mu       sync.Mutex
	furthest int64
}

func (r *boundedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	r.furthest = max(r.furthest, off+int64(len(p)))
	r.mu.Unlock()
	if off >= r.size {
		return 0, io.EOF
	}
	n := copy(p, r.b[min(off, int64(len(r.b))):])
	clear(p[n:])
	return len(p), nil
}

func TestOpenStopsAtEndOfArchive(t *testing.T) {
	images, _, imgs := goldenImages(t)
	full := writeTarball(t, images, nil)
	garbage := append(bytes.Clone(full), bytes.Repeat([]byte("junk"), 1<<18)...)
	r := openBytes(t, garbage)
	checkImage(t, r, imgs[0].doc.Descriptor(), imgs[0])
	ra := &boundedReaderAt{b: full, size: 1 << 40} // a terabyte of zero padding
	r2, err := tarball.Open(ra, ra.size, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if ra.furthest > int64(len(full)) {
		t.Errorf("read up to offset %d of a %d-byte tarball", ra.furthest, len(full))
	}
}

func TestOpenHugePAXHeader(t *testing.T) {
	b := mkTar(t, tfile{name: "pax", body: "path=" + strings.Repeat("a", 2<<20)})
	b[156] = tar.TypeXHeader // make the entry a PAX header, then fix the checksum
	sum := 0
	copy(b[148:156], "        ")
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	if err := openErr(t, b, nil); !errors.Is(err, tar.ErrFieldTooLong) {
		t.Errorf("2 MiB PAX header: %v, want tar.ErrFieldTooLong", err)
	}
}

func TestOpenTooManyEntries(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := range 100_001 {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprint(i), Typeflag: tar.TypeReg})
	}
	tw.Close()
	if err := openErr(t, buf.Bytes(), nil); err == nil || !strings.Contains(err.Error(), "entries") {
		t.Errorf("100,001 entries: %v", err)
	}
}

func TestOpenGzipBudget(t *testing.T) {
	images, _, _ := goldenImages(t)
	b := testtool.Gzip(t, writeTarball(t, images, nil), gzip.BestSpeed)
	err := openErr(t, b, &tarball.OpenOptions{TempDir: t.TempDir(), MaxUncompressed: 4096})
	if !isErr[*manifest.LimitError](err) {
		t.Errorf("gzip'd tarball over budget: %v, want a *LimitError", err)
	}
}

func TestOpenForeignLayerNotInTarball(t *testing.T) {
	cfg := configJSON(t, "amd64", []manifest.Digest{manifest.FromString("diff")})
	foreign := manifest.Descriptor{MediaType: manifest.MediaTypeDockerForeignLayer, Digest: manifest.FromString("blob"), Size: 4,
		URLs: []string{"https://example.com/layer"}}
	mj := []tarball.ManifestEntry{{Config: "c", Layers: []string{"gone.tar"},
		LayerSources: map[manifest.Digest]manifest.Descriptor{manifest.FromString("diff"): foreign}}}
	r := openBytes(t, mkTar(t, tfile{name: "manifest.json", body: mustJSON(t, mj)}, tfile{name: "c", body: string(cfg)}))
	doc, err := manifest.FetchDocument(context.Background(), r, r.Images()[0].Descriptor)
	if err != nil {
		t.Fatal(err)
	}
	if l := doc.Manifest.Layers[0]; l.Digest != foreign.Digest || l.URLs[0] != foreign.URLs[0] {
		t.Errorf("layer = %+v", l)
	}
	if _, err := r.Fetch(context.Background(), foreign); !errors.Is(err, manifest.ErrNotFound) {
		t.Errorf("Fetch(foreign layer not in the tarball): %v", err)
	}
}
