//go:build unix

package safefile_test

import (
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

func TestReadOwnRemovesTraps(t *testing.T) {
	for _, tr := range traps {
		t.Run(tr.name, func(t *testing.T) {
			dir, victim, lines := setup(t)
			path := filepath.Join(dir, "0123.upload")
			tr.plant(t, path, victim)
			b, err := safefile.ReadOwn(path, 1<<10)
			if !errors.Is(err, fs.ErrNotExist) || b != nil {
				t.Fatalf("ReadOwn of a trap = %q, %v; want nothing and fs.ErrNotExist", b, err)
			}
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the trap is still there: %v", err)
			}
			if len(*lines) != 1 || !strings.Contains((*lines)[0], path) {
				t.Errorf("want one report naming %s, got %q", path, *lines)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious" {
				t.Errorf("victim changed: %q", b)
			}
		})
	}
}

func TestReadOwnReadsOurs(t *testing.T) {
	dir, _, lines := setup(t)
	path := filepath.Join(dir, "state")
	must(t, os.WriteFile(path, []byte("ours"), 0o600))
	if b, err := safefile.ReadOwn(path, 4); err != nil || string(b) != "ours" || len(*lines) != 0 {
		t.Errorf("ReadOwn = %q, %v, reports %q", b, err, *lines)
	}
	if _, err := safefile.ReadOwn(path, 3); err == nil || !strings.Contains(err.Error(), "larger than 3 bytes") {
		t.Errorf("ReadOwn past its limit: %v", err)
	}
	if _, err := safefile.ReadOwn(filepath.Join(dir, "absent"), 3); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadOwn of an absent file: %v", err)
	}
}

// dirTraps are what another user may leave where skiff keeps a directory
// of its own.
var dirTraps = append(traps[:len(traps):len(traps)],
	trap{"symlink to a victim directory", func(t *testing.T, path, victim string) {
		must(t, os.Symlink(filepath.Dir(victim), path))
	}},
	trap{"directory writable by others", func(t *testing.T, path, victim string) {
		must(t, os.Mkdir(path, 0o777))
		must(t, os.Chmod(path, 0o777))
		must(t, os.Symlink(victim, filepath.Join(path, "manifest.json")))
	}},
	trap{"directory of another user", func(t *testing.T, path, victim string) {
		if os.Geteuid() != 0 {
			t.Skip("chown to another user needs root (CI runs as root)")
		}
		must(t, os.Mkdir(path, 0o755))
		must(t, os.Symlink(victim, filepath.Join(path, "manifest.json")))
		must(t, os.Chown(path, 12345, 12345))
	}},
)

func TestReuseDirRemovesTraps(t *testing.T) {
	for _, tr := range dirTraps {
		if tr.name == "directory" {
			continue // a directory of our own: see TestReuseDirKeepsOurs
		}
		t.Run(tr.name, func(t *testing.T) {
			dir, victim, lines := setup(t)
			d, err := safefile.OpenDir(dir)
			must(t, err)
			defer d.Close()
			name := ".app.skiff-partial"
			tr.plant(t, filepath.Join(dir, name), victim)
			sub, fresh, err := d.ReuseDir(name, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			must(t, sub.WriteFile("manifest.json", []byte("[]"), 0o644, false))
			if !fresh {
				t.Error("a planted directory was reused")
			}
			if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
				t.Errorf("victim changed: %q, %v", b, err)
			}
			if fi, err := os.Lstat(filepath.Join(dir, name, "manifest.json")); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("manifest.json is not a new regular file: %v", err)
			}
			if len(*lines) != 1 || !strings.Contains((*lines)[0], filepath.Join(dir, name)) {
				t.Errorf("want one report naming %s, got %q", name, *lines)
			}
			if fi, err := os.Lstat(filepath.Join(dir, name)); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
				t.Errorf("%s: %v %v, want a directory of mode 0755", name, fi, err)
			}
			if entries, _ := os.ReadDir(filepath.Dir(victim)); len(entries) != 2 {
				t.Errorf("beside the victim: %v, want the victim and the output directory", entries)
			}
		})
	}
}

func TestReuseDirKeepsOurs(t *testing.T) {
	dir, _, lines := setup(t)
	d, err := safefile.OpenDir(dir)
	must(t, err)
	defer d.Close()
	must(t, os.Mkdir(filepath.Join(dir, "p"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "p", "blob"), []byte("arrived"), 0o644))
	sub, fresh, err := d.ReuseDir("p", 0o755)
	must(t, err)
	b, _ := sub.Root().ReadFile("blob")
	sub.Close()
	if fresh || string(b) != "arrived" || len(*lines) != 0 {
		t.Errorf("fresh %v, blob %q, reports %q: want the earlier run's directory kept", fresh, b, *lines)
	}
	sub, err = d.CreateDir("p", 0o755)
	must(t, err)
	entries, _ := os.ReadDir(filepath.Join(dir, "p"))
	sub.Close()
	if len(entries) != 0 || len(*lines) != 0 {
		t.Errorf("CreateDir left %v, reports %q: want an empty directory and no report", entries, *lines)
	}
}

func TestDiscardReportsAnything(t *testing.T) {
	dir, victim, lines := setup(t)
	d, err := safefile.OpenDir(dir)
	must(t, err)
	defer d.Close()
	must(t, os.Symlink(victim, filepath.Join(dir, "blob")))
	must(t, d.Discard("blob"))
	must(t, d.Discard("absent"))
	if _, err := os.Lstat(filepath.Join(dir, "blob")); !errors.Is(err, fs.ErrNotExist) || len(*lines) != 1 || !strings.Contains((*lines)[0], "a symbolic link to") {
		t.Errorf("after Discard: %v, reports %q", err, *lines)
	}
}

// Replace and CreateNew write under a name that starts with TempPrefix,
// which is what registry gc looks for.
func TestTempNamesHaveThePrefix(t *testing.T) {
	dir, _, _ := setup(t)
	var seen []string
	err := safefile.Replace(filepath.Join(dir, "index.json"), 0o644, false, func(w io.Writer) error {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			seen = append(seen, e.Name())
		}
		return nil
	})
	must(t, err)
	if len(seen) != 1 || !strings.HasPrefix(seen[0], safefile.TempPrefix+"index.json-") {
		t.Errorf("while writing, the directory held %q", seen)
	}
}

func TestFollowOwnLinks(t *testing.T) {
	dir, victim, _ := setup(t)
	real := filepath.Join(dir, "dotfiles-config.json")
	must(t, os.WriteFile(real, []byte("{}"), 0o600))
	link := filepath.Join(dir, "config.json")
	must(t, os.Symlink("dotfiles-config.json", link))
	if got := safefile.FollowOwnLinks(link); got != real {
		t.Errorf("an own link led to %s, want %s", got, real)
	}
	dangling := filepath.Join(dir, "dangling.json")
	must(t, os.Symlink(filepath.Join(dir, "nowhere"), dangling))
	if got := safefile.FollowOwnLinks(dangling); got != dangling {
		t.Errorf("a dangling link was followed to %s", got)
	}
	if os.Geteuid() != 0 {
		t.Skip("a link another user owns needs root to make (CI runs as root)")
	}
	theirs := filepath.Join(dir, "theirs.json")
	must(t, os.Symlink(victim, theirs))
	must(t, os.Lchown(theirs, 12345, 12345))
	if got := safefile.FollowOwnLinks(theirs); got != theirs {
		t.Errorf("another user's link was followed to %s", got)
	}
	must(t, safefile.WriteFile(safefile.FollowOwnLinks(theirs), []byte("creds"), 0o600, false))
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim changed: %q", b)
	}
	if fi, _ := os.Lstat(theirs); !fi.Mode().IsRegular() {
		t.Errorf("another user's link was not replaced: %v", fi.Mode())
	}
	var st syscall.Stat_t
	must(t, syscall.Lstat(theirs, &st))
	if int(st.Uid) != os.Geteuid() {
		t.Errorf("the new file is owned by uid %d", st.Uid)
	}
}

// A temporary file another user replaced is not read again: not through a
// link, not a file put in its place, and a FIFO is never waited on.
func TestReopenRefusesAnother(t *testing.T) {
	for _, tr := range traps {
		t.Run(tr.name, func(t *testing.T) {
			dir, victim, _ := setup(t)
			path := filepath.Join(dir, "skiff-layer-123")
			must(t, os.WriteFile(path, []byte("layer"), 0o600))
			made, err := os.Stat(path)
			must(t, err)
			f, err := safefile.Reopen(path, made)
			must(t, err)
			f.Close()
			must(t, os.Remove(path))
			tr.plant(t, path, victim)
			if f, err := safefile.Reopen(path, made); err == nil {
				f.Close()
				t.Fatal("reopened what another user put in the file's place")
			}
		})
	}
}
