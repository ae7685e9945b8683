package resume

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestSweep(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-8 * 24 * time.Hour)
	touch := func(name string, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
		return p
	}
	oldData, oldState := Names(filepath.Join(dir, "old.tar"))
	touch(filepath.Base(oldData), old)
	touch(filepath.Base(oldState), old)
	newData, newState := Names(filepath.Join(dir, "new.tar"))
	touch(filepath.Base(newData), time.Now())
	touch(filepath.Base(newState), old) // the data is recent: keep both
	orphan := touch(".gone.tar"+StateSuffix, old)
	user := touch("user.skiff-partial", old) // not a hidden partial: the user's
	removed, err := Sweep(testDir(t, dir), ".", DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{filepath.Base(oldData)}) {
		t.Fatalf("removed %v", removed)
	}
	for p, want := range map[string]bool{oldData: false, oldState: false, newData: true, newState: true, orphan: false, user: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
	// Age 0 removes every set but the kept ones and the ones in use.
	held, err := openStatePath(newState, [32]byte{}, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	otherData, _ := Names(filepath.Join(dir, "other.tar"))
	touch(filepath.Base(otherData), time.Now())
	keptData, _ := Names(filepath.Join(dir, "kept.tar"))
	touch(filepath.Base(keptData), time.Now())
	removed, _ = Sweep(testDir(t, dir), ".", 0, filepath.Base(keptData))
	if lockWorks && !slices.Equal(removed, []string{filepath.Base(otherData)}) {
		t.Fatalf("age 0 removed %v", removed)
	}
	held.Close()
}
