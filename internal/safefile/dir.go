package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// attempts bounds how often an operation starts again when what is under
// a name changes while it works: another process is racing it.
const attempts = 8

// TempPrefix starts the name of every temporary file Replace and CreateNew
// write beside their final name (".tmp-NAME-DIGITS"), so that what a
// crash leaves is found by it (registry gc removes such files).
const TempPrefix = ".tmp-"

// tempPattern is the CreateTemp pattern of name's temporary file.
func tempPattern(name string) string {
	dir, base := path.Split(name)
	return dir + TempPrefix + base + "-*"
}

// Dir is a directory skiff writes in. Names given to its methods are
// slash-separated and relative to it; none resolves outside it.
type Dir struct {
	root *os.Root
}

// OpenDir opens the directory at path, which must exist.
func OpenDir(path string) (*Dir, error) {
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("safefile: %w", err)
	}
	return &Dir{root: r}, nil
}

// FromRoot is the directory root, opened already, as a Dir. Closing the
// Dir closes root.
func FromRoot(root *os.Root) *Dir { return &Dir{root: root} }

// Root is the directory as an os.Root, for reading.
func (d *Dir) Root() *os.Root { return d.root }

// Name is the path the directory was opened by.
func (d *Dir) Name() string { return d.root.Name() }

// Close closes the directory. Files opened through it stay open.
func (d *Dir) Close() error { return d.root.Close() }

// Reuse opens name to read and write, keeping the contents an earlier run
// left when it is a regular file owned by the effective user with one
// link, as the open file says. Whatever else is there is removed (and
// reported) and a new, empty file created with perm; fresh says the file
// is new.
func (d *Dir) Reuse(name string, perm fs.FileMode) (f *os.File, fresh bool, err error) {
	for range attempts {
		fi, err := d.root.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			f, err := d.create(name, perm)
			if errors.Is(err, fs.ErrExist) {
				continue // created by someone else meanwhile: look again
			}
			return f, true, err
		}
		if err != nil {
			return nil, false, fmt.Errorf("safefile: %w", err)
		}
		if !ours(fi) {
			if err := d.discard(name, fi, foreign(fi)); err != nil {
				return nil, false, err
			}
			continue
		}
		f, err := d.root.OpenFile(name, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("safefile: %w", err)
		}
		if st, err := f.Stat(); err == nil && os.SameFile(fi, st) && ours(st) {
			return f, false, nil
		}
		f.Close() // replaced between the look and the open: look again
	}
	return nil, false, d.racing(name)
}

// Create makes name a new, empty file with perm, created with O_EXCL so
// that no one else holds it. A file of skiff's own under name is removed
// first; anything else there is removed and reported.
func (d *Dir) Create(name string, perm fs.FileMode) (*os.File, error) {
	for range attempts {
		if err := d.clear(name); err != nil {
			return nil, err
		}
		f, err := d.create(name, perm)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, d.racing(name)
}

// CreateTemp creates a new file with a name no one else has: pattern with
// its last "*" (or, without one, its end) replaced by random digits. The
// file is made with O_EXCL and mode 0600.
func (d *Dir) CreateTemp(pattern string) (f *os.File, name string, err error) {
	prefix, suffix := pattern, ""
	if i := strings.LastIndex(pattern, "*"); i >= 0 {
		prefix, suffix = pattern[:i], pattern[i+1:]
	}
	for range 1000 {
		name = prefix + strconv.FormatUint(rand.Uint64()%1e12, 10) + suffix
		f, err = d.create(name, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			return f, name, err
		}
	}
	return nil, "", fmt.Errorf("safefile: no unused name for %s in %s", pattern, d.Name())
}

// Commit renames from to to, replacing whatever is under to (a link is
// replaced, never written through) and, with sync, flushes the directory
// that holds to, so the new name survives a power loss.
func (d *Dir) Commit(from, to string, sync bool) error {
	if err := d.root.Rename(from, to); err != nil {
		if fi, lerr := d.root.Lstat(to); lerr == nil && fi.IsDir() {
			return fmt.Errorf("safefile: %s is a directory; skiff replaces no directory", filepath.Join(d.Name(), to))
		}
		return fmt.Errorf("safefile: naming %s: %w", filepath.Join(d.Name(), to), err)
	}
	if sync {
		return d.SyncDir(path.Dir(to))
	}
	return nil
}

// Replace writes name whole or not at all: write fills a new temporary
// file beside it, which gets mode perm, is flushed when sync is set, and
// is renamed over name. When any step fails the temporary file is removed
// and name is left as it was.
func (d *Dir) Replace(name string, perm fs.FileMode, sync bool, write func(io.Writer) error) (err error) {
	f, tmp, err := d.CreateTemp(tempPattern(name))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			d.root.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("safefile: %w", err)
	}
	if sync {
		if err = f.Sync(); err != nil {
			return fmt.Errorf("safefile: %w", err)
		}
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("safefile: %w", err)
	}
	return d.Commit(tmp, name, sync)
}

// WriteFile is Replace with data as the contents.
func (d *Dir) WriteFile(name string, data []byte, perm fs.FileMode, sync bool) error {
	return d.Replace(name, perm, sync, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// CreateNew writes name, which must not exist, whole or not at all, with
// mode perm, flushed: the bytes go to a temporary file that is then
// linked to name, so an existing file (or link) is never replaced. The
// error wraps fs.ErrExist when name exists.
func (d *Dir) CreateNew(name string, data []byte, perm fs.FileMode) error {
	f, tmp, err := d.CreateTemp(tempPattern(name))
	if err != nil {
		return err
	}
	defer d.root.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.root.Link(tmp, name)
	}
	if err != nil {
		return fmt.Errorf("safefile: %w", err)
	}
	return d.SyncDir(path.Dir(name))
}

// Remove removes name, never following it; a name that is absent is not
// an error. A directory is removed with what it holds.
func (d *Dir) Remove(name string) error {
	fi, err := d.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && fi.IsDir() {
		err = d.root.RemoveAll(name)
	} else if err == nil {
		err = d.root.Remove(name)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("safefile: %w", err)
	}
	return nil
}

// SyncDir flushes the directory dir ("." for d itself), so that names
// created or renamed in it survive a power loss. Where a directory cannot
// be flushed (Windows, file systems that refuse it) the rename has
// happened anyway, and SyncDir does nothing.
func (d *Dir) SyncDir(dir string) error {
	if dir == "" {
		dir = "."
	}
	if !canSyncDir {
		return nil
	}
	f, err := d.root.Open(dir)
	if err != nil {
		return fmt.Errorf("safefile: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !cannotSync(err) {
		return fmt.Errorf("safefile: sync %s: %w", filepath.Join(d.Name(), dir), err)
	}
	return nil
}

// create makes name with O_EXCL, which never follows a link: the error
// wraps fs.ErrExist when anything is under name.
func (d *Dir) create(name string, perm fs.FileMode) (*os.File, error) {
	f, err := d.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		err = fmt.Errorf("safefile: %w", err)
	}
	return f, err
}

// clear removes what is under name: silently when it is a file of skiff's
// own, with a report otherwise.
func (d *Dir) clear(name string) error {
	fi, err := d.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("safefile: %w", err)
	case ours(fi):
		if err := d.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("safefile: %w", err)
		}
		return nil
	}
	return d.discard(name, fi, foreign(fi))
}

// Discard removes what is under name without following it, and reports
// what it was: for a name skiff invents, where it found what it did not
// leave. A name that is absent is not an error.
func (d *Dir) Discard(name string) error {
	fi, err := d.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("safefile: %w", err)
	}
	what := foreign(fi)
	if what == "" {
		what = Kind(fi.Mode())
	}
	return d.discard(name, fi, what)
}

// discard removes what is under name, which is not skiff's own (what
// says why), without following it, and reports it.
func (d *Dir) discard(name string, fi fs.FileInfo, what string) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		if target, err := d.root.Readlink(name); err == nil {
			what += " to " + strconv.Quote(target)
		}
	}
	if err := d.Remove(name); err != nil {
		return fmt.Errorf("safefile: %s is %s, and removing it failed: %w", filepath.Join(d.Name(), name), what, err)
	}
	reportf(fmt.Sprintf("skiff: removed %s: it was %s, not a file skiff left", filepath.Join(d.Name(), name), what))
	return nil
}

func (d *Dir) racing(name string) error {
	return fmt.Errorf("safefile: %s keeps changing while skiff opens it: another process is replacing it", filepath.Join(d.Name(), name))
}

// Kind names a file's type for a message: "a symbolic link", "a FIFO",
// "a directory", "a file"...
func Kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsRegular():
		return "a file"
	}
	return "an irregular file"
}
