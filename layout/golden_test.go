package layout_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden layout in testdata/layout")

var goldenDir = filepath.Join("..", "testdata", "layout", "basic")

// TestGolden writes a small layout deterministically (uncompressed layers,
// fixed timestamps) and compares every file with the golden copy.
func TestGolden(t *testing.T) {
	l, dir := create(t)
	amd := buildImage(t, "amd64", map[string]string{"hello": "hello from amd64\n"}, false)
	arm := buildImage(t, "arm64", map[string]string{"hello": "hello from arm64\n"}, false)
	pushImage(t, l, amd, "v1")
	push(t, l, arm.blobs()...)
	idx := buildIndex(t, amd, arm)
	push(t, l, idx)
	if err := l.Tag(context.Background(), idx.desc, "multi"); err != nil {
		t.Fatal(err)
	}
	got := tree(t, dir)
	if *update {
		writeGolden(t, got)
	}
	want := tree(t, goldenDir)
	for _, name := range sortedKeys(got, want) {
		g, inGot := got[name]
		w, inWant := want[name]
		switch {
		case !inWant:
			t.Errorf("%s: not in the golden layout (run go test -update)", name)
		case !inGot:
			t.Errorf("%s: missing", name)
		case !bytes.Equal(g, w):
			t.Errorf("%s differs:\ngot  %s\nwant %s", name, g, w)
		}
	}
}

func writeGolden(t *testing.T, files map[string][]byte) {
	t.Helper()
	if err := os.RemoveAll(goldenDir); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		p := filepath.Join(goldenDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sortedKeys(maps ...map[string][]byte) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
