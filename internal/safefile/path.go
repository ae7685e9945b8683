package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The functions below act on one file beside an output the user named:
// the directory is the user's, the last element of path is skiff's.

// Reuse is Dir.Reuse of path's last element in its directory.
func Reuse(path string, perm fs.FileMode) (f *os.File, fresh bool, err error) {
	err = inDir(path, func(d *Dir, name string) error {
		f, fresh, err = d.Reuse(name, perm)
		return err
	})
	return f, fresh, err
}

// Create is Dir.Create of path's last element in its directory.
func Create(path string, perm fs.FileMode) (f *os.File, err error) {
	err = inDir(path, func(d *Dir, name string) error {
		f, err = d.Create(name, perm)
		return err
	})
	return f, err
}

// Replace is Dir.Replace of path's last element in its directory.
func Replace(path string, perm fs.FileMode, sync bool, write func(io.Writer) error) error {
	return inDir(path, func(d *Dir, name string) error {
		return d.Replace(name, perm, sync, write)
	})
}

// WriteFile is Dir.WriteFile of path's last element in its directory.
func WriteFile(path string, data []byte, perm fs.FileMode, sync bool) error {
	return inDir(path, func(d *Dir, name string) error {
		return d.WriteFile(name, data, perm, sync)
	})
}

// CreateNew is Dir.CreateNew of path's last element in its directory.
func CreateNew(path string, data []byte, perm fs.FileMode) error {
	return inDir(path, func(d *Dir, name string) error {
		return d.CreateNew(name, data, perm)
	})
}

// Commit is Dir.Commit of two names in one directory, given as paths.
func Commit(from, to string, sync bool) error {
	if filepath.Dir(from) != filepath.Dir(to) {
		return fmt.Errorf("safefile: %s and %s are in different directories", from, to)
	}
	return inDir(to, func(d *Dir, name string) error {
		return d.Commit(filepath.Base(from), name, sync)
	})
}

// ReadOwn is Dir.ReadOwn of path's last element in its directory.
func ReadOwn(path string, limit int64) (b []byte, err error) {
	err = inDir(path, func(d *Dir, name string) error {
		b, err = d.ReadOwn(name, limit)
		return err
	})
	return b, err
}

// FollowOwnLinks returns path, or, when its last element is a symbolic
// link the effective user owns (a dotfiles manager's link to a config
// file), the path it leads to, through any number of such links, as long
// as the file at the end exists. A link another user owns is not
// followed: a file written to the path returned replaces that link
// rather than the file it points to.
func FollowOwnLinks(path string) string {
	if _, err := os.Stat(path); err != nil {
		return path
	}
	for range 40 {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 || !ownedByMe(fi) {
			return path
		}
		target, err := os.Readlink(path)
		if err != nil {
			return path
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return path
}

// Remove is Dir.Remove of path's last element in its directory.
func Remove(path string) error {
	return inDir(path, func(d *Dir, name string) error { return d.Remove(name) })
}

func inDir(path string, do func(d *Dir, name string) error) error {
	d, err := OpenDir(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return do(d, filepath.Base(path))
}

// MkdirPrivate makes path a directory for skiff's own state, mode 0700,
// with any missing parents (also 0700). An existing directory is used only
// when it is a directory, not a link to one, owned by the effective user
// and writable by no one else, as ssh asks of ~/.ssh; otherwise the error
// names it and says why.
func MkdirPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("safefile: %w", err)
	}
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("safefile: %w", err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("safefile: %w", err)
	}
	why := ""
	if !fi.IsDir() {
		why = Kind(fi.Mode()) + ", not a directory"
	} else {
		why = ownedPrivate(fi)
	}
	if why != "" {
		return fmt.Errorf("safefile: refusing to keep state in %s: it is %s", path, why)
	}
	return nil
}
