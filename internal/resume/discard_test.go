package resume

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/internal/safefile"
)

// openStatePath is OpenState of the file at path.
func openStatePath(path string, key [32]byte, count int, fresh bool) (*State, error) {
	d, err := safefile.OpenDir(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	return OpenState(d, filepath.Base(path), key, count, fresh)
}

func testDir(t *testing.T, dir string) *safefile.Dir {
	t.Helper()
	d, err := safefile.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestOpenPartial: a partial file is kept when asked and of the right
// size; otherwise it is started anew by removing it, not emptied in place
// (whoever still has the old file open sees it unchanged), at the size
// asked for.
func TestOpenPartial(t *testing.T) {
	dir := t.TempDir()
	d := testDir(t, dir)
	name := ".x" + DataSuffix
	for _, c := range []struct {
		keep bool
		size int64
		same bool
	}{{true, 11, true}, {true, -1, true}, {true, 12, false}, {false, 11, false}, {false, -1, false}} {
		os.Remove(filepath.Join(dir, name))
		if err := os.WriteFile(filepath.Join(dir, name), []byte("stale bytes"), 0o644); err != nil {
			t.Fatal(err)
		}
		old, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f, err := OpenPartial(d, name, 0o644, c.size, c.keep)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		f.Close()
		was, _ := old.Stat()
		b, _ := io.ReadAll(old)
		old.Close()
		if os.SameFile(was, fi) != c.same || string(b) != "stale bytes" {
			t.Errorf("keep %v, size %d: same file %v, the old one holds %q", c.keep, c.size, os.SameFile(was, fi), b)
		}
		want := c.size
		switch {
		case c.same:
			want = 11
		case c.size < 0:
			want = 0
		}
		if fi.Size() != want {
			t.Errorf("keep %v, size %d: the file has %d bytes, want %d", c.keep, c.size, fi.Size(), want)
		}
	}
}
