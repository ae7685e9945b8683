//go:build unix

package traptest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Trap is one kind of thing planted under a name skiff writes by.
type Trap struct {
	Name  string
	plant func(t testing.TB, s *Scene, path string)
}

// OtherUID owns the files and directories Traps plant as another user's.
const OtherUID = 12345

// Traps are the traps every name skiff invents must survive. Planting the
// file of another user needs root; without it that trap skips the test.
var Traps = []Trap{
	{"symlink to a victim", func(t testing.TB, s *Scene, path string) { must(t, os.Symlink(s.Victim, path)) }},
	{"dangling symlink", func(t testing.TB, s *Scene, path string) { must(t, os.Symlink(s.dangling(), path)) }},
	{"hard link to a victim", func(t testing.TB, s *Scene, path string) { must(t, os.Link(s.Victim, path)) }},
	{"FIFO", func(t testing.TB, s *Scene, path string) { must(t, syscall.Mkfifo(path, 0o666)) }},
	{"directory", func(t testing.TB, s *Scene, path string) {
		must(t, os.MkdirAll(filepath.Join(path, "sub"), 0o777))
		must(t, os.Chmod(path, 0o777))
		must(t, os.Symlink(s.Victim, filepath.Join(path, "sub", "link")))
	}},
	{"file of another user", func(t testing.TB, s *Scene, path string) {
		NeedRoot(t)
		must(t, os.WriteFile(path, []byte("theirs"), 0o666))
		must(t, os.Chown(path, OtherUID, OtherUID))
	}},
}

// NeedRoot skips the test unless it runs as root, which making another
// user's files needs (CI runs as root).
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("planting another user's file needs root (CI runs as root)")
	}
}

// victimBytes is what the victim holds, and must hold after the test.
const victimBytes = "precious: not to be written by skiff"

// Scene is a directory Base holding the output directory Out, writable
// by anyone as a shared one would be, and the file Victim, which no trap
// may let skiff change. Nothing else may appear in Base.
type Scene struct {
	Base, Out, Victim string
}

// NewScene makes a Scene in a new temporary directory.
func NewScene(t testing.TB) *Scene {
	t.Helper()
	base := t.TempDir()
	s := &Scene{Base: base, Out: filepath.Join(base, "out"), Victim: filepath.Join(base, "victim")}
	must(t, os.Mkdir(s.Out, 0o777))
	must(t, os.Chmod(s.Out, 0o777|os.ModeSticky))
	must(t, os.WriteFile(s.Victim, []byte(victimBytes), 0o600))
	return s
}

// Plant puts tr at path, making its directory first.
func (s *Scene) Plant(t testing.TB, tr Trap, path string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	tr.plant(t, s, path)
}

// dangling is where the dangling symlink points: in Base, where nothing
// may appear.
func (s *Scene) dangling() string { return filepath.Join(s.Base, "created-by-skiff") }

// Check fails the test when the victim changed or Base holds anything but
// Out and Victim (a file created through a dangling link, say).
func (s *Scene) Check(t testing.TB) {
	t.Helper()
	if b, err := os.ReadFile(s.Victim); err != nil || string(b) != victimBytes {
		t.Errorf("the victim changed: %q, %v", b, err)
	}
	if fi, err := os.Lstat(s.Victim); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("the victim's mode changed: %v, %v", fi, err)
	}
	entries, _ := os.ReadDir(s.Base)
	for _, e := range entries {
		if e.Name() != "out" && e.Name() != "victim" {
			t.Errorf("%s appeared beside the output", filepath.Join(s.Base, e.Name()))
		}
	}
}

// Owned fails the test unless path is a regular file (or, with dir, a
// directory) that the effective user owns, with one link.
func Owned(t testing.TB, path string, dir bool) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	switch {
	case dir && !fi.IsDir(), !dir && !fi.Mode().IsRegular():
		t.Errorf("%s is %v, not what skiff writes", path, fi.Mode())
	case int(st.Uid) != os.Geteuid():
		t.Errorf("%s is owned by uid %d", path, st.Uid)
	case !dir && st.Nlink != 1:
		t.Errorf("%s has %d links", path, st.Nlink)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
