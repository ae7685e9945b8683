//go:build unix

package safefile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/skiffoci/skiff/internal/safefile"
)

func openDir(t *testing.T, dir string) *safefile.Dir {
	t.Helper()
	d, err := safefile.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// OpenFile opens a regular file only: a link (to a victim outside or to a
// file inside), a FIFO or a directory is refused without being followed
// or waited on, and the victim is untouched.
func TestOpenFileRefusesWhatIsNotAFile(t *testing.T) {
	dir, victim, _ := setup(t)
	must(t, os.WriteFile(filepath.Join(dir, "inside"), []byte("in"), 0o600))
	must(t, os.Symlink(victim, filepath.Join(dir, "out-link")))
	must(t, os.Symlink("inside", filepath.Join(dir, "in-link")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o666))
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	d := openDir(t, dir)
	for _, name := range []string{"out-link", "in-link", "fifo", "sub"} {
		for _, flag := range []int{os.O_RDONLY, os.O_WRONLY, os.O_RDWR} {
			f, err := d.OpenFile(name, flag)
			if !errors.Is(err, safefile.ErrNotRegular) || !strings.Contains(err.Error(), filepath.Join(dir, name)) {
				t.Errorf("OpenFile(%s, %d): %v, want ErrNotRegular naming it", name, flag, err)
			}
			if f != nil {
				f.Close()
			}
		}
	}
	f, err := d.OpenFile("inside", os.O_WRONLY)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("IN")
	f.Close()
	if b, _ := os.ReadFile(filepath.Join(dir, "inside")); string(b) != "IN" {
		t.Errorf("inside holds %q", b)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim changed: %q", b)
	}
	if _, err := d.OpenFile("absent", os.O_RDONLY); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an absent file: %v", err)
	}
}

// OpenDir opens a real directory only, and nothing opened through the
// Dir it returns resolves outside that directory.
func TestOpenDirStaysInside(t *testing.T) {
	dir, victim, _ := setup(t)
	must(t, os.MkdirAll(filepath.Join(dir, "repo", "blobs"), 0o755))
	must(t, os.Symlink(filepath.Dir(victim), filepath.Join(dir, "link")))
	must(t, os.Symlink("repo", filepath.Join(dir, "in-link")))
	d := openDir(t, dir)
	for _, name := range []string{"link", "in-link", "in-link/blobs", "repo/../in-link/blobs"} {
		if _, err := d.OpenDir(name); !errors.Is(err, safefile.ErrNotRegular) {
			t.Errorf("OpenDir(%s): %v, want ErrNotRegular", name, err)
		}
	}
	sub, err := d.OpenDir("repo")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.Name() != filepath.Join(dir, "repo") {
		t.Errorf("Name %q", sub.Name())
	}
	if _, err := d.OpenDir("../out"); err == nil {
		t.Error("opened a directory beside the Dir")
	}
	if err := sub.WriteFile("../victim", []byte("x"), 0o644, false); err == nil {
		t.Error("wrote through .. out of the sub-directory")
	}
	if err := sub.WriteFile("blobs/f", []byte("x"), 0o644, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "repo", "blobs", "f")); string(b) != "x" {
		t.Errorf("blobs/f holds %q", b)
	}
}

// MkdirAll makes what is missing and refuses an element that is a link,
// even a link to a directory inside, naming it; nothing appears outside.
func TestMkdirAllRefusesLinks(t *testing.T) {
	dir, victim, _ := setup(t)
	outside := filepath.Dir(victim)
	must(t, os.MkdirAll(filepath.Join(dir, "a"), 0o755))
	must(t, os.Symlink(outside, filepath.Join(dir, "a", "out")))
	must(t, os.Symlink(".", filepath.Join(dir, "a", "here")))
	must(t, os.WriteFile(filepath.Join(dir, "a", "file"), nil, 0o600))
	d := openDir(t, dir)
	for _, name := range []string{"a/out/x", "a/here/x", "a/file/x"} {
		err := d.MkdirAll(name, 0o755)
		bad := filepath.Join(dir, filepath.Dir(name))
		if !errors.Is(err, safefile.ErrNotRegular) || !strings.Contains(err.Error(), bad) {
			t.Errorf("MkdirAll(%s): %v, want an error naming %s", name, err, bad)
		}
	}
	if _, err := os.Lstat(filepath.Join(outside, "x")); err == nil {
		t.Error("a directory was made outside")
	}
	if err := d.MkdirAll("a/b/c", 0o750); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "a", "b", "c")); err != nil || !fi.IsDir() {
		t.Fatalf("a/b/c: %v %v", fi, err)
	}
	if err := d.MkdirAll("a/b/c", 0o750); err != nil {
		t.Errorf("again: %v", err)
	}
	if err := d.MkdirAll("../escape", 0o755); err == nil {
		t.Error("made a directory beside the Dir")
	}
}

// Link never replaces, and never writes through, what is under its new
// name.
func TestLinkNeverReplaces(t *testing.T) {
	dir, victim, _ := setup(t)
	must(t, os.WriteFile(filepath.Join(dir, "blob"), []byte("blob"), 0o644))
	must(t, os.Symlink(victim, filepath.Join(dir, "planted")))
	d := openDir(t, dir)
	if err := d.Link("blob", "planted"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Link over a link: %v, want fs.ErrExist", err)
	}
	if err := d.Link("blob", "second"); err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(filepath.Join(dir, "blob"))
	b, _ := os.Lstat(filepath.Join(dir, "second"))
	if !os.SameFile(a, b) {
		t.Error("second is not a hard link of blob")
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim changed: %q", b)
	}
}

// MkdirPrivate replaces a planted link (reporting it), keeps a private
// directory of ours, and refuses a loose or foreign one.
func TestDirMkdirPrivate(t *testing.T) {
	dir, victim, lines := setup(t)
	must(t, os.Symlink(filepath.Dir(victim), filepath.Join(dir, ".uploads")))
	d := openDir(t, dir)
	if err := d.MkdirPrivate(".uploads", 0o700); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, ".uploads")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf(".uploads: %v %v", fi, err)
	}
	if len(*lines) != 1 || !strings.Contains((*lines)[0], "symbolic link") {
		t.Errorf("reports %q", *lines)
	}
	must(t, os.WriteFile(filepath.Join(dir, ".uploads", "session"), nil, 0o600))
	if err := d.MkdirPrivate(".uploads", 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".uploads", "session")); err != nil {
		t.Errorf("our directory was emptied: %v", err)
	}
	must(t, os.Mkdir(filepath.Join(dir, "loose"), 0o777))
	must(t, os.Chmod(filepath.Join(dir, "loose"), 0o777))
	if err := d.MkdirPrivate("loose", 0o700); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("a world-writable directory: %v", err)
	}
	if os.Geteuid() == 0 {
		must(t, os.Mkdir(filepath.Join(dir, "theirs"), 0o700))
		must(t, os.Chown(filepath.Join(dir, "theirs"), 12345, 12345))
		if err := d.MkdirPrivate("theirs", 0o700); err == nil || !strings.Contains(err.Error(), "owned by uid 12345") {
			t.Errorf("another user's directory: %v", err)
		}
	}
}
