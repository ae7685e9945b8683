//go:build unix

package safefile_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/skiffoci/skiff/internal/safefile"
)

// trap plants something under name in dir that is not a file of skiff's
// own, and returns the victim file outside dir whose bytes must not change.
type trap struct {
	name  string
	plant func(t *testing.T, path, victim string)
}

var traps = []trap{
	{"symlink to a victim", func(t *testing.T, path, victim string) { must(t, os.Symlink(victim, path)) }},
	{"dangling symlink", func(t *testing.T, path, victim string) {
		must(t, os.Symlink(filepath.Join(filepath.Dir(victim), "created-by-skiff"), path))
	}},
	{"hard link to a victim", func(t *testing.T, path, victim string) { must(t, os.Link(victim, path)) }},
	{"FIFO", func(t *testing.T, path, victim string) {
		must(t, syscall.Mkfifo(path, 0o666))
	}},
	{"directory", func(t *testing.T, path, victim string) {
		must(t, os.MkdirAll(filepath.Join(path, "sub"), 0o755))
		must(t, os.Symlink(victim, filepath.Join(path, "sub", "link")))
	}},
	{"file of another user", func(t *testing.T, path, victim string) {
		if os.Geteuid() != 0 {
			t.Skip("chown to another user needs root (CI runs as root)")
		}
		must(t, os.WriteFile(path, []byte("theirs"), 0o666))
		must(t, os.Chown(path, 12345, 12345))
	}},
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// setup makes an output directory and, outside it, a victim file.
func setup(t *testing.T) (dir, victim string, lines *[]string) {
	base := t.TempDir()
	dir = filepath.Join(base, "out")
	must(t, os.Mkdir(dir, 0o777))
	victim = filepath.Join(base, "victim")
	must(t, os.WriteFile(victim, []byte("precious"), 0o600))
	lines = new([]string)
	t.Cleanup(safefile.SetReporter(func(l string) { *lines = append(*lines, l) }))
	return dir, victim, lines
}

// checkSafe asserts the victim is unchanged, nothing was created beside
// it, the trap was reported, and path is a regular file of our own.
func checkSafe(t *testing.T, path, victim string, lines []string) {
	t.Helper()
	if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
		t.Errorf("victim changed: %q, %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(victim), "created-by-skiff")); err == nil {
		t.Error("a file was created through a dangling symlink")
	}
	if len(lines) != 1 || !strings.Contains(lines[0], path) || !strings.Contains(lines[0], "not a file skiff left") {
		t.Errorf("want one report naming %s, got %q", path, lines)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("%s is not a regular file: %v %v", path, fi, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && (int(st.Uid) != os.Geteuid() || st.Nlink != 1) {
		t.Errorf("%s: uid %d, %d links", path, st.Uid, st.Nlink)
	}
}

func TestReuseRemovesTraps(t *testing.T) {
	for _, tr := range traps {
		t.Run(tr.name, func(t *testing.T) {
			dir, victim, lines := setup(t)
			path := filepath.Join(dir, ".out.tar.skiff-partial")
			tr.plant(t, path, victim)
			f, fresh, err := safefile.Reuse(path, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if !fresh {
				t.Error("a planted file was reused")
			}
			if _, err := f.WriteString("image bytes"); err != nil {
				t.Fatal(err)
			}
			f.Close()
			checkSafe(t, path, victim, *lines)
		})
	}
}

func TestReuseKeepsOurFile(t *testing.T) {
	dir, _, lines := setup(t)
	path := filepath.Join(dir, ".out.tar.skiff-partial")
	must(t, os.WriteFile(path, []byte("partial"), 0o600))
	f, fresh, err := safefile.Reuse(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if fresh || string(b) != "partial" || len(*lines) != 0 {
		t.Errorf("fresh %v, contents %q, reports %q: want the earlier run's file kept", fresh, b, *lines)
	}
}

func TestCreateRemovesTraps(t *testing.T) {
	for _, tr := range traps {
		t.Run(tr.name, func(t *testing.T) {
			dir, victim, lines := setup(t)
			path := filepath.Join(dir, ".HEX.skiff-state")
			tr.plant(t, path, victim)
			f, err := safefile.Create(path, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("state")
			f.Close()
			checkSafe(t, path, victim, *lines)
		})
	}
}

func TestCreateOwnFileSilently(t *testing.T) {
	dir, _, lines := setup(t)
	path := filepath.Join(dir, "f")
	must(t, os.WriteFile(path, []byte("old"), 0o600))
	f, err := safefile.Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	f.Close()
	if fi.Size() != 0 || len(*lines) != 0 {
		t.Errorf("size %d, reports %q: want an empty new file and no report", fi.Size(), *lines)
	}
}

// The final rename replaces whatever is under the name: a symbolic link
// planted at the output is replaced, its target untouched.
func TestReplaceNeverWritesThrough(t *testing.T) {
	for _, tr := range traps {
		if tr.name == "directory" {
			continue // renaming a file over a directory fails: see TestReplaceOverDirectoryFails
		}
		t.Run(tr.name, func(t *testing.T) {
			dir, victim, _ := setup(t)
			path := filepath.Join(dir, "index.json")
			tr.plant(t, path, victim)
			if err := safefile.WriteFile(path, []byte("{}"), 0o644, true); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
				t.Errorf("victim changed: %q, %v", b, err)
			}
			if b, err := os.ReadFile(path); err != nil || string(b) != "{}" {
				t.Errorf("output: %q, %v", b, err)
			}
			if fi, _ := os.Lstat(path); !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
				t.Errorf("output mode %v", fi.Mode())
			}
			leftovers(t, dir, "index.json")
		})
	}
}

func TestReplaceOverDirectoryFails(t *testing.T) {
	dir, _, _ := setup(t)
	path := filepath.Join(dir, "out.tar")
	must(t, os.MkdirAll(filepath.Join(path, "x"), 0o755))
	if err := safefile.WriteFile(path, []byte("x"), 0o644, false); err == nil {
		t.Fatal("replaced a directory")
	}
	leftovers(t, dir, "out.tar")
}

func TestReplaceFailureLeavesNothing(t *testing.T) {
	dir, _, _ := setup(t)
	path := filepath.Join(dir, "out")
	must(t, os.WriteFile(path, []byte("before"), 0o644))
	boom := errors.New("boom")
	err := safefile.Replace(path, 0o644, false, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "before" {
		t.Errorf("output changed to %q", b)
	}
	leftovers(t, dir, "out")
}

// leftovers fails when dir holds anything but want.
func leftovers(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !bytes.Contains([]byte(strings.Join(want, "\x00")), []byte(e.Name())) {
			t.Errorf("%s left in %s", e.Name(), dir)
		}
	}
}

func TestCreateNewNeverReplaces(t *testing.T) {
	dir, victim, _ := setup(t)
	key := filepath.Join(dir, "cosign.key")
	must(t, os.Symlink(victim, key))
	err := safefile.CreateNew(key, []byte("secret"), 0o600)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim changed: %q", b)
	}
	fresh := filepath.Join(dir, "new.key")
	if err := safefile.CreateNew(fresh, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	leftovers(t, dir, "cosign.key", "new.key")
}

// Names given to a Dir never resolve outside it, even through a symbolic
// link planted in a directory inside it.
func TestDirStaysInside(t *testing.T) {
	dir, victim, _ := setup(t)
	must(t, os.Symlink(filepath.Dir(victim), filepath.Join(dir, "blobs")))
	d, err := safefile.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Create("blobs/victim", 0o644); err == nil {
		t.Error("created a file through a link that leaves the directory")
	}
	if err := d.WriteFile("../victim", []byte("x"), 0o644, false); err == nil {
		t.Error("wrote to ../victim")
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim changed: %q", b)
	}
}

func TestMkdirPrivate(t *testing.T) {
	base := t.TempDir()
	state := filepath.Join(base, "cache", "skiff", "uploads")
	must(t, safefile.MkdirPrivate(state))
	for _, p := range []string{state, filepath.Dir(state)} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want mode 0700", p, fi.Mode(), err)
		}
	}
	must(t, safefile.MkdirPrivate(state)) // an existing private one is fine

	loose := filepath.Join(base, "loose")
	must(t, os.Mkdir(loose, 0o777))
	must(t, os.Chmod(loose, 0o777))
	if err := safefile.MkdirPrivate(loose); err == nil || !strings.Contains(err.Error(), loose) || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("a world-writable directory: %v", err)
	}
	link := filepath.Join(base, "link")
	must(t, os.Symlink(state, link))
	if err := safefile.MkdirPrivate(link); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a link to a directory: %v", err)
	}
	if os.Geteuid() == 0 {
		theirs := filepath.Join(base, "theirs")
		must(t, os.Mkdir(theirs, 0o700))
		must(t, os.Chown(theirs, 12345, 12345))
		if err := safefile.MkdirPrivate(theirs); err == nil || !strings.Contains(err.Error(), "owned by uid 12345") {
			t.Errorf("another user's directory: %v", err)
		}
	}
}
