package server_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// journalOf is the journal the server keeps of repo's index.json.
func journalOf(root, repo string) string {
	return filepath.Join(root, ".meta", filepath.FromSlash(repo), ".journal")
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// layoutTags lists the tags of the layout as another reader of it
// (skiff's layout package) sees them.
func layoutTags(t *testing.T, root, repo string) []string {
	t.Helper()
	l, err := layout.Open(filepath.Join(root, filepath.FromSlash(repo)))
	if err != nil {
		t.Fatal(err)
	}
	tags, err := l.Tags(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

// TestIndexRecoveredFromJournal: what a power cut or a killed server can
// leave of index.json (an earlier version, when the replacements since
// were lost; nothing; zeros; a temporary file beside it) is made again
// from the journal when the server next opens the repository: every tag
// it answered for is there, and the layout is valid for other readers.
func TestIndexRecoveredFromJournal(t *testing.T) {
	damages := map[string]func(t *testing.T, index string, before []byte){
		"replacement lost": func(t *testing.T, index string, before []byte) { writeFile(t, index, before) },
		"empty":            func(t *testing.T, index string, _ []byte) { writeFile(t, index, nil) },
		"zeros": func(t *testing.T, index string, _ []byte) {
			writeFile(t, index, make([]byte, len(readFile(t, index))))
		},
		"temporary file left": func(t *testing.T, index string, before []byte) {
			writeFile(t, filepath.Join(filepath.Dir(index), ".tmp-index.json-12345"), readFile(t, index)[:20])
			writeFile(t, index, before)
		},
		"missing": func(t *testing.T, index string, _ []byte) { os.Remove(index) },
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			s := start(t, nil)
			s.push("a/b", "v1", newImage("one", 100, nil))
			index := filepath.Join(s.root, "a", "b", layout.IndexFile)
			before := readFile(t, index)
			s.push("a/b", "v2", newImage("two", 100, nil))
			s.push("a/b", "v1", newImage("three", 100, nil)) // v1's first image stays, untagged
			damage(t, index, before)

			var errs testtool.SyncBuffer
			s2 := startAt(t, s.root, func(o *server.Options) { o.ErrorLog = log.New(&errs, "", 0) })
			if got := s2.tags("a/b"); !slices.Equal(got, []string{"v1", "v2"}) {
				t.Fatalf("tags: %v", got)
			}
			if got := errs.String(); strings.Count(got, "recovered from its journal") != 1 {
				t.Errorf("the recovery is not logged once: %q", got)
			}
			if got := layoutTags(t, s.root, "a/b"); !slices.Equal(got, []string{"v1", "v2"}) {
				t.Fatalf("index.json lists %v", got)
			}
			if idx := checkLayout(t, s.root, "a/b"); len(idx.Manifests) != 3 {
				t.Errorf("index.json has %d entries, want 3 (v1, v2, v1's first image)", len(idx.Manifests))
			}
			if _, err := server.RemoveTemporary(s.root); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestJournalLineCutShort: a server killed while it appended an edit to
// the journal never answered it, and never replaced index.json: the
// repository is as before that edit, and the next edits are kept.
func TestJournalLineCutShort(t *testing.T) {
	s := start(t, nil)
	s.push("a", "v1", newImage("one", 100, nil))
	index, journal := filepath.Join(s.root, "a", layout.IndexFile), journalOf(s.root, "a")
	before, size := readFile(t, index), len(readFile(t, journal))
	s.push("a", "v2", newImage("two", 100, nil))
	full := readFile(t, journal)
	if len(full) <= size+10 {
		t.Fatalf("the journal did not grow: %d bytes, then %d", size, len(full))
	}
	writeFile(t, journal, full[:len(full)-10])
	writeFile(t, index, before)

	s2 := startAt(t, s.root, nil)
	if got := s2.tags("a"); !slices.Equal(got, []string{"v1"}) {
		t.Fatalf("tags: %v", got)
	}
	s2.push("a", "v3", newImage("three", 100, nil))
	if got := startAt(t, s.root, nil).tags("a"); !slices.Equal(got, []string{"v1", "v3"}) {
		t.Fatalf("tags after the next edit and a restart: %v", got)
	}
	checkLayout(t, s.root, "a")
}

// TestIndexWrittenByAnotherTool: index.json that another tool rewrote,
// while the server ran or while it was stopped, is what the server serves
// and keeps editing: the journal does not take it for damage.
func TestIndexWrittenByAnotherTool(t *testing.T) {
	s := start(t, nil)
	im := newImage("one", 100, nil)
	s.push("a", "v1", im)
	s.push("a", "v2", newImage("two", 100, nil))
	l, err := layout.Open(filepath.Join(s.root, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Tag(t.Context(), im.desc, "running"); err != nil {
		t.Fatal(err)
	}
	if got := s.tags("a"); !slices.Equal(got, []string{"running", "v1", "v2"}) {
		t.Fatalf("tags after another tool's edit: %v", got)
	}
	s.push("a", "v3", newImage("three", 100, nil))
	s.Close()
	if err := l.Tag(t.Context(), im.desc, "stopped"); err != nil {
		t.Fatal(err)
	}
	s2 := startAt(t, s.root, nil)
	want := []string{"running", "stopped", "v1", "v2", "v3"}
	if got := s2.tags("a"); !slices.Equal(got, want) {
		t.Fatalf("tags after another tool's edit while stopped: %v", got)
	}
	s2.push("a", "v4", newImage("four", 100, nil))
	want = append(want, "v4")
	if got := startAt(t, s.root, nil).tags("a"); !slices.Equal(got, want) {
		t.Fatalf("tags: %v, want %v", got, want)
	}
	checkLayout(t, s.root, "a")
}

// TestJournalBegunAgain: the journal holds at most 1,024 edits, then
// starts again with index.json as it then is; nothing is lost.
func TestJournalBegunAgain(t *testing.T) {
	root := t.TempDir()
	st := server.NewLayoutStorage(root)
	im := newImage("one", 100, nil)
	for _, b := range [][]byte{im.config, im.layer, im.raw} {
		if _, err := st.PutBlob(manifest.FromBytes(b), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range [][]byte{im.config, im.layer} {
		if err := st.Link("a", server.Link{Kind: server.KindBlob, Name: string(manifest.FromBytes(b)), Digest: manifest.FromBytes(b)}); err != nil {
			t.Fatal(err)
		}
	}
	m := server.Link{Kind: server.KindManifest, Name: string(im.desc.Digest), Digest: im.desc.Digest, MediaType: im.desc.MediaType}
	if err := st.Link("a", m); err != nil {
		t.Fatal(err)
	}
	const n = 1100
	var want []string
	for i := range n {
		tag := "t" + fmt.Sprintf("%04d", i)
		want = append(want, tag)
		if err := st.Link("a", server.Link{Kind: server.KindTag, Name: tag, Digest: im.desc.Digest}); err != nil {
			t.Fatal(err)
		}
	}
	lines := bytes.Count(readFile(t, journalOf(root, "a")), []byte{'\n'})
	if lines > 1+1024 {
		t.Errorf("the journal has %d lines after %d edits", lines, n+1)
	}
	writeFile(t, filepath.Join(root, "a", layout.IndexFile), nil) // recovered from what the journal begun again holds
	if got := startAt(t, root, nil).tags("a"); !slices.Equal(got, want) {
		t.Fatalf("%d tags, want %d", len(got), len(want))
	}
}

// TestNewRepositoryIgnoresOldJournal: the journal of a repository whose
// layout was removed by hand is not taken for the history of a new
// layout of that name.
func TestNewRepositoryIgnoresOldJournal(t *testing.T) {
	s := start(t, nil)
	s.push("a", "v1", newImage("one", 100, nil))
	s.push("a", "v2", newImage("two", 100, nil))
	s.Close()
	if err := os.RemoveAll(filepath.Join(s.root, "a")); err != nil {
		t.Fatal(err)
	}
	s2 := startAt(t, s.root, nil)
	s2.push("a", "new", newImage("three", 100, nil))
	writeFile(t, filepath.Join(s.root, "a", layout.IndexFile), nil)
	if got := startAt(t, s.root, nil).tags("a"); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("tags: %v", got)
	}
	checkLayout(t, s.root, "a")
}

// TestGCRecoversIndexFirst: GC run after a power cut lost index.json's
// last replacements keeps the blobs of the images the journal holds (a
// dry run says so without writing), and makes index.json current.
func TestGCRecoversIndexFirst(t *testing.T) {
	s := start(t, nil)
	s.push("a", "v1", newImage("one", 100, nil))
	index := filepath.Join(s.root, "a", layout.IndexFile)
	before := readFile(t, index)
	two := newImage("two", 100, nil)
	s.push("a", "v2", two)
	s.Close()
	writeFile(t, index, before)
	for _, dry := range []bool{true, false} {
		res, err := server.GC(t.Context(), s.root, dry)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Removed {
			if strings.Contains(f.Path, two.layerDigest().Hex()) || strings.Contains(f.Path, two.desc.Digest.Hex()) {
				t.Fatalf("dry run %v: GC removes %s, of the image v2 names", dry, f.Path)
			}
		}
		if dry && !bytes.Equal(readFile(t, index), before) {
			t.Fatal("a dry run wrote index.json")
		}
	}
	if got := layoutTags(t, s.root, "a"); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Fatalf("index.json lists %v after GC", got)
	}
	checkLayout(t, s.root, "a")
}
