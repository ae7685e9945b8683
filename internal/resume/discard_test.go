package resume

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestDiscard: a partial file is removed, not emptied in place, and a
// missing one is no error; a name that cannot be removed is.
func TestDiscard(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".x"+DataSuffix)
	if err := os.WriteFile(path, []byte("stale bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Discard(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after Discard: %v, want the file gone", err)
	}
	if err := Discard(path); err != nil {
		t.Fatalf("Discard of a missing file: %v", err)
	}
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(filepath.Join(full, "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Discard(full); err == nil {
		t.Fatal("Discard of a directory that is not empty succeeded")
	}
}
