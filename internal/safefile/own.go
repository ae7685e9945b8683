package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ReadOwn returns the contents of name, a small file skiff wrote earlier,
// when it is a regular file owned by the effective user with one link, as
// the open file says; a file of more than limit bytes is an error.
// Whatever else is under name is removed and reported, and the error then
// wraps fs.ErrNotExist, as when nothing is there.
func (d *Dir) ReadOwn(name string, limit int64) ([]byte, error) {
	for range attempts {
		fi, err := d.root.Lstat(name)
		if err != nil {
			return nil, fmt.Errorf("safefile: %w", err)
		}
		if !ours(fi) {
			if err := d.discard(name, fi, foreign(fi)); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("safefile: %s: %w", filepath.Join(d.Name(), name), fs.ErrNotExist)
		}
		f, err := d.root.OpenFile(name, os.O_RDONLY|nonblock, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("safefile: %w", err)
		}
		st, err := f.Stat()
		if err != nil || !os.SameFile(fi, st) || !ours(st) {
			f.Close() // replaced between the look and the open: look again
			continue
		}
		b, err := io.ReadAll(io.LimitReader(f, limit+1))
		f.Close()
		if err == nil && int64(len(b)) > limit {
			err = fmt.Errorf("%s is larger than %d bytes", filepath.Join(d.Name(), name), limit)
		}
		if err != nil {
			return nil, fmt.Errorf("safefile: %w", err)
		}
		return b, nil
	}
	return nil, d.racing(name)
}

// Reopen opens the file at path to read it again when it is still the
// file want describes, as the open file says: the same file (os.SameFile:
// device and inode, which a new file may reuse) of the same mode, owned by
// the effective user (whose own writes to it the caller's verification
// catches). It is for a temporary
// file skiff made, in a directory where another user may have replaced
// it since. It never waits on a FIFO, and the error names path when the
// file is another.
func Reopen(path string, want fs.FileInfo) (f *os.File, err error) {
	err = inDir(path, func(d *Dir, name string) error {
		f, err = d.root.OpenFile(name, os.O_RDONLY|nonblock, 0)
		if err != nil {
			return fmt.Errorf("safefile: %w", err)
		}
		if st, serr := f.Stat(); serr != nil || !unchanged(want, st) {
			f.Close()
			return fmt.Errorf("safefile: %s is not the file skiff wrote there: it was replaced", path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ReuseDir opens the directory name, keeping what an earlier run left in
// it when it is a directory (not a link to one) owned by the effective
// user and writable by no one else, as the open directory says. Whatever
// else is there is removed (and reported) and a new, empty directory made
// with perm; fresh says it is new. Files in it are then opened through
// the Dir returned, which the caller closes.
func (d *Dir) ReuseDir(name string, perm fs.FileMode) (sub *Dir, fresh bool, err error) {
	return d.subdir(name, perm, true)
}

// CreateDir makes name a new, empty directory with perm and opens it. A
// directory of skiff's own under name is removed first, with all it
// holds; anything else there is removed and reported.
func (d *Dir) CreateDir(name string, perm fs.FileMode) (*Dir, error) {
	sub, _, err := d.subdir(name, perm, false)
	return sub, err
}

// subdir is ReuseDir when keep is set, CreateDir otherwise.
func (d *Dir) subdir(name string, perm fs.FileMode, keep bool) (*Dir, bool, error) {
	made := false
	for range attempts {
		fi, err := d.root.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := d.root.Mkdir(name, perm); err != nil && !errors.Is(err, fs.ErrExist) {
				return nil, false, fmt.Errorf("safefile: %w", err)
			}
			made, keep = true, true // what is there now is new: look at it
			continue
		case err != nil:
			return nil, false, fmt.Errorf("safefile: %w", err)
		case !fi.IsDir():
			err = d.discard(name, fi, foreign(fi))
		case ownedPrivate(fi) != "":
			err = d.discard(name, fi, "a directory "+ownedPrivate(fi))
		case !keep:
			err = d.Remove(name)
		default:
			sub, err := d.openSub(name, fi)
			if sub != nil || err != nil {
				return sub, made, err
			}
			continue
		}
		if err != nil {
			return nil, false, err
		}
		made = false
	}
	return nil, false, d.racing(name)
}

// openSub opens the directory name when it is still the one fi describes,
// owned and private as it was; when it is not, it returns neither a Dir
// nor an error, for the caller to look again.
func (d *Dir) openSub(name string, fi fs.FileInfo) (*Dir, error) {
	r, err := d.root.OpenRoot(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("safefile: %w", err)
	}
	if st, err := r.Stat("."); err == nil && os.SameFile(fi, st) && ownedPrivate(st) == "" {
		return &Dir{root: r}, nil
	}
	r.Close()
	return nil, nil
}

// unchanged reports whether got is the file want described, not a new one
// that took its inode number.
func unchanged(want, got fs.FileInfo) bool {
	return os.SameFile(want, got) && want.Mode() == got.Mode() && ownedByMe(got)
}

// Mine reports whether the effective user owns the file fi describes (a
// symbolic link itself, for an Lstat's): a file another user owns is not
// one skiff left for this user. Where the system reports no owner, every
// file is.
func Mine(fi fs.FileInfo) bool { return ownedByMe(fi) }

// Trusted reports whether skiff may trust the contents of the file fi
// describes without reading them, as those of a file it wrote itself: a
// regular file owned by the effective user, with one link, that no one
// else may write. Any other file (another user's, one a hard link
// shares, one others may write) may hold what another user put there.
func Trusted(fi fs.FileInfo) bool { return ours(fi) && ownedPrivate(fi) == "" }
