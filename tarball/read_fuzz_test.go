package tarball_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// fuzzSeeds returns the golden tarballs gzip'd and small tarballs of each
// shape in the compact form of compactTar. Go's fuzzer spends up to a
// minute minimizing each new input, in time quadratic in its length, so
// short inputs make a much better use of a fuzzing run.
func fuzzSeeds(f testing.TB) [][]byte {
	var out [][]byte
	seeds, _ := filepath.Glob(filepath.Join("..", "testdata", "tarball", "*.tar"))
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, testtool.Gzip(f, b, gzip.BestCompression))
		}
	}
	plain := tinyImage(f, []byte("a"), []byte("a"))
	zipped := tinyImage(f, testtool.Gzip(f, []byte("b"), gzip.BestSpeed))
	for _, b := range [][]byte{legacySave(f, plain, "a:b"), ggcrSave(f, zipped, "c:d"),
		docker25Save(f, zipped, "e:f"), ociArchive(f, zipped, "g"),
		mkTar(f, symlink("manifest.json", "x"), symlink("x", "manifest.json"))} {
		out = append(out, compactForm(f, b))
	}
	return out
}

// compactForm describes the entries of tar b for compactTar.
func compactForm(t testing.TB, b []byte) []byte {
	parts := [][]byte{{}}
	for _, e := range tfileReplace(t, b, "", nil) {
		rest := e.body
		if e.typ == tar.TypeSymlink || e.typ == tar.TypeLink {
			rest = e.link
		}
		parts = append(parts, []byte(string(e.typ)+e.name+"|"+rest))
	}
	return append([]byte{'E'}, bytes.Join(parts[1:], []byte{0})...)
}

// compactTar builds a tar from entries separated by NUL bytes, each
// "<typeflag><name>|<content>", the content being the link target of a
// link ('1', '2') and the body of anything else.
func compactTar(data []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, part := range bytes.Split(data, []byte{0}) {
		if len(part) == 0 {
			continue
		}
		name, rest, _ := bytes.Cut(part[1:], []byte("|"))
		h := &tar.Header{Typeflag: part[0], Name: string(name)}
		switch h.Typeflag {
		case tar.TypeLink, tar.TypeSymlink:
			h.Linkname = string(rest)
		case tar.TypeReg, tar.TypeDir:
			h.Size = int64(len(rest))
		default:
			continue
		}
		if tw.WriteHeader(h) == nil {
			tw.Write(rest)
		}
	}
	tw.Close()
	return buf.Bytes()
}

// tinyImage is an image whose layers are the given bytes, not tars.
func tinyImage(t testing.TB, layers ...[]byte) *testImage {
	ti := &testImage{layers: layers}
	var descs []manifest.Descriptor
	for _, l := range layers {
		ti.diffIDs = append(ti.diffIDs, manifest.FromBytes(uncompressed(t, l)))
		descs = append(descs, manifest.DescriptorFor(manifest.MediaTypeDockerLayer, l))
	}
	ti.config = []byte(mustJSON(t, manifest.Config{RootFS: manifest.RootFS{DiffIDs: ti.diffIDs}}))
	ti.doc = manifestDoc(t, true, manifest.DescriptorFor(manifest.MediaTypeDockerConfig, ti.config), descs)
	return ti
}

func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(fuzzOne)
}

// fuzzOne opens data, or the tar compactTar builds from it when it starts
// with 'E', as a tarball and reads every image in it.
func fuzzOne(t *testing.T, data []byte) {
	if len(data) > 0 && data[0] == 'E' {
		data = compactTar(data[1:])
	}
	r, err := tarball.Open(bytes.NewReader(data), int64(len(data)), &tarball.OpenOptions{MaxUncompressed: 16 << 20})
	if err != nil {
		return
	}
	defer r.Close()
	for _, im := range r.Images() {
		for _, tag := range im.Tags {
			r.Resolve(context.Background(), tag)
		}
		fuzzFetchImage(r, im.Descriptor)
	}
}

// fuzzFetchImage reads everything an image refers to, ignoring errors.
func fuzzFetchImage(r *tarball.Reader, desc manifest.Descriptor) {
	ctx := context.Background()
	doc, err := manifest.FetchDocument(ctx, r, desc)
	if err != nil || doc.Manifest == nil {
		return
	}
	for _, d := range append(doc.Manifest.Layers, doc.Manifest.Config) {
		if rc, err := r.Fetch(ctx, d); err == nil {
			io.Copy(io.Discard, rc)
			rc.Close()
		}
	}
}

func FuzzManifestJSON(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		if s[0] != 'E' {
			continue
		}
		for _, e := range tfileReplace(f, compactTar(s[1:]), "", nil) {
			if e.name == "manifest.json" {
				f.Add([]byte(e.body))
			}
		}
	}
	f.Add([]byte(`[{"Config":"../x","Layers":["/etc/passwd"]}]`))
	f.Add([]byte(`[{"Config":"c","RepoTags":null,"Layers":[],"LayerSources":{"sha256:x":{}}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := tarball.ParseManifestJSON(data)
		if err != nil {
			return
		}
		raw, err := json.Marshal(entries)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) > tarball.MaxManifestJSONSize {
			return
		}
		again, err := tarball.ParseManifestJSON(raw)
		if err != nil || len(again) != len(entries) {
			t.Fatalf("re-encoded manifest.json does not parse: %v\n%s", err, raw)
		}
	})
}
