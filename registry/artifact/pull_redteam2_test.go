package artifact_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	artifact "github.com/skiffoci/skiff/registry/artifact"
)

// rtEntry is a tar entry with a mode of its own.
type rtEntry struct {
	name, link string
	typ        byte
	mode       int64
	data       string
}

// rtDirLayer is dirLayer with each entry's mode as given.
func rtDirLayer(t *testing.T, title string, entries ...rtEntry) blobLayer {
	t.Helper()
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.data))
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

// TestRedteam2HardLinkToSymlinkLeadsOut: a symbolic link deep in the
// directory whose target stays inside it where it is, and a hard link to
// it higher up: Extract copies the link's target text to the new place,
// where it climbs out of DIR. RT2-A1.
func TestRedteam2HardLinkToSymlinkLeadsOut(t *testing.T) {
	for _, title := range []string{".", "d"} {
		t.Run(title, func(t *testing.T) {
			prefix := ""
			if title != "." {
				prefix = title + "/"
			}
			parent := t.TempDir()
			out := filepath.Join(parent, "out")
			os.Mkdir(out, 0o755)
			up := "../../victim"
			if title != "." {
				up = "../../../victim" // from out/d/h: out/d, out, parent
			}
			src, _ := handMade(t, rtDirLayer(t, title,
				rtEntry{name: prefix + "a/b/c/s", link: up, typ: tar.TypeSymlink, mode: 0o777},
				rtEntry{name: prefix + "h", link: prefix + "a/b/c/s", typ: tar.TypeLink, mode: 0o777},
			))
			_, err := artifact.Pull(t.Context(), src, out, nil)
			if err == nil {
				for name, v := range tree(t, out) {
					if strings.HasPrefix(v, "-> ") {
						t.Logf("%s %s", name, v)
					}
				}
				t.Fatal("an unpacked directory holds a symbolic link that leads out of DIR")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %v", err)
			}
			if got := tree(t, parent); len(got) != 1 {
				t.Errorf("a refused pull left %v", got)
			}
		})
	}
}

// TestRedteam2SetuidEntry: a directory layer's file with the setuid and
// setgid bits; a pull run by root would leave a setuid-root program,
// chosen by the artifact's author, for every local user to run. RT2-A2.
func TestRedteam2SetuidEntry(t *testing.T) {
	out := t.TempDir()
	src, _ := handMade(t, rtDirLayer(t, "d",
		rtEntry{name: "d/", typ: tar.TypeDir, mode: 0o3777},
		rtEntry{name: "d/x", typ: tar.TypeReg, mode: 0o6755, data: "#!/bin/sh\n"},
	))
	if _, err := artifact.Pull(t.Context(), src, out, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"d", "d/x"} {
		fi, err := os.Lstat(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode(); m&(os.ModeSetuid|os.ModeSetgid) != 0 || m.Perm()&0o022 != 0 && name == "d/x" {
			t.Errorf("%s was unpacked with mode %v: the artifact chose setuid/setgid or world-writable bits", name, m)
		}
	}
}
