package artifact_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	artifact "github.com/skiffoci/skiff/registry/artifact"
)

// blobLayer is a layer of a hand-made artifact: its bytes, and what its
// descriptor says.
type blobLayer struct {
	data        []byte
	mediaType   string
	annotations map[string]string
}

// handMade stores an artifact of layers in a new layout, as a hostile
// pusher could make it, and returns its "oci:DIR:1" name and layout.
func handMade(t *testing.T, layers ...blobLayer) (string, *layout.Layout) {
	t.Helper()
	dir := t.TempDir()
	l, err := layout.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	empty := manifest.DescriptorFor(manifest.MediaTypeOCIEmpty, []byte("{}"))
	push(t, l, empty, []byte("{}"))
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest,
		ArtifactType: "application/vnd.test", Config: empty}
	for _, b := range layers {
		d := manifest.DescriptorFor(cmpOr(b.mediaType, manifest.MediaTypeOCILayer), b.data)
		d.Annotations = b.annotations
		push(t, l, d, b.data)
		m.Layers = append(m.Layers, d)
	}
	doc, err := manifest.Marshal(manifest.MediaTypeOCIManifest, &m)
	if err != nil {
		t.Fatal(err)
	}
	push(t, l, doc.Descriptor(), doc.Raw)
	if err := l.Tag(t.Context(), doc.Descriptor(), "1"); err != nil {
		t.Fatal(err)
	}
	return "oci:" + dir + ":1", l
}

func push(t *testing.T, l *layout.Layout, d manifest.Descriptor, data []byte) {
	t.Helper()
	if err := l.Push(t.Context(), d, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

// titled is a file layer of data titled title.
func titled(title string, data []byte) blobLayer {
	return blobLayer{data: data, annotations: map[string]string{artifact.AnnotationTitle: title}}
}

// tarEntry is one entry of a directory layer made by hand.
type tarEntry struct {
	name, link string
	typ        byte
	data       string
}

// dirLayer is a directory layer titled title holding entries, marked for
// unpacking, with the digest of its tar.
func dirLayer(t *testing.T, title string, entries ...tarEntry) blobLayer {
	t.Helper()
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.data))}
		if e.typ == tar.TypeDir {
			h.Mode = 0o755
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.data))
		}
	}
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	return blobLayer{data: gz.Bytes(), mediaType: manifest.MediaTypeOCILayerGzip, annotations: map[string]string{
		artifact.AnnotationTitle:  title,
		artifact.AnnotationUnpack: "true",
		artifact.AnnotationDigest: string(manifest.FromBytes(plain.Bytes())),
	}}
}

// tree returns the files under dir, by slash-separated name: a file's
// content, a link's "-> target", a directory's "/".
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "-> " + target
		case d.IsDir():
			out[rel] = "/"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
