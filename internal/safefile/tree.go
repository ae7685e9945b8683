package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// The methods below serve a Dir that is the unit of storage, such as the
// root of a registry: its files are opened again and again, linked to each
// other and listed, and its directories nest.

// ErrNotRegular is wrapped by the errors of OpenFile and OpenDir when what
// is under the name is not what they open: a symbolic link, a FIFO, a
// device, a directory where a file is wanted, or a file where a directory
// is.
var ErrNotRegular = errors.New("not a regular file or directory")

// OpenFile opens the existing regular file name with flag, one of
// os.O_RDONLY, os.O_WRONLY and os.O_RDWR. A symbolic link as name's last
// element is not followed, and a FIFO is never waited on: what is not a
// regular file is refused with an error wrapping ErrNotRegular. The file
// opened is the one that was under name when it was looked at, as the
// open file says.
func (d *Dir) OpenFile(name string, flag int) (*os.File, error) {
	fi, err := d.root.Lstat(name)
	if err != nil {
		return nil, fmt.Errorf("safefile: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, d.notRegular(name, fi, "a regular file")
	}
	f, err := d.root.OpenFile(name, flag&(os.O_RDONLY|os.O_WRONLY|os.O_RDWR)|nonblock, 0)
	if err != nil {
		return nil, fmt.Errorf("safefile: %w", err)
	}
	if st, err := f.Stat(); err != nil || !os.SameFile(fi, st) {
		f.Close()
		return nil, d.racing(name)
	}
	return f, nil
}

// OpenDir opens the directory name in d as a Dir of its own, in which no
// name resolves outside name. No element of name is followed if it is a
// symbolic link, even to a directory inside d: one that is, or that is
// not a directory, is refused with an error naming it and wrapping
// ErrNotRegular. What is removed through the Dir returned is in name and
// nowhere else, however the path to it changes meanwhile.
func (d *Dir) OpenDir(name string) (*Dir, error) {
	cur := d
	for _, elem := range strings.Split(path.Clean(name), "/") {
		next, err := cur.openChild(elem)
		if cur != d {
			cur.Close()
		}
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// openChild opens the directory elem, one element, of d.
func (d *Dir) openChild(elem string) (*Dir, error) {
	fi, err := d.root.Lstat(elem)
	if err != nil {
		return nil, fmt.Errorf("safefile: %w", err)
	}
	if !fi.IsDir() {
		return nil, d.notRegular(elem, fi, "a directory")
	}
	r, err := d.root.OpenRoot(elem)
	if err != nil {
		return nil, fmt.Errorf("safefile: %w", err)
	}
	if st, err := r.Stat("."); err != nil || !os.SameFile(fi, st) {
		r.Close()
		return nil, d.racing(elem)
	}
	return &Dir{root: r}, nil
}

// MkdirAll makes the directory name in d, with every missing parent, each
// with mode perm. Every element of name that exists must be a directory:
// a symbolic link is not followed, and it or anything else that is not a
// directory is refused with an error naming it and wrapping ErrNotRegular.
func (d *Dir) MkdirAll(name string, perm fs.FileMode) error {
	name = path.Clean(name)
	if name == "." {
		return nil
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		err := d.root.Mkdir(p, perm)
		if err == nil {
			continue
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("safefile: %w", err)
		}
		fi, err := d.root.Lstat(p)
		if err != nil {
			return fmt.Errorf("safefile: %w", err)
		}
		if !fi.IsDir() {
			return d.notRegular(p, fi, "a directory")
		}
	}
	return nil
}

// Link gives the file from a second name, to, in d. It never replaces
// anything: when something is under to, the error wraps fs.ErrExist. A
// symbolic link at from is linked itself, never followed.
func (d *Dir) Link(from, to string) error {
	if err := d.root.Link(from, to); err != nil {
		return fmt.Errorf("safefile: %w", err)
	}
	return nil
}

func (d *Dir) notRegular(name string, fi fs.FileInfo, want string) error {
	return fmt.Errorf("safefile: %s is %s, not %s: %w", filepath.Join(d.Name(), name), Kind(fi.Mode()), want, ErrNotRegular)
}

// MkdirPrivate makes the directory name in d for skiff's own state, with
// mode perm, and its missing parents as MkdirAll does. Since skiff
// invents name, what is under it that is not a directory (a symbolic
// link, dangling or not; a file) is removed, unfollowed, and reported
// first. A directory there is used only when it is owned by the effective
// user and writable by no one else, as the package's MkdirPrivate asks;
// otherwise the error names it and says why.
func (d *Dir) MkdirPrivate(name string, perm fs.FileMode) error {
	if err := d.MkdirAll(path.Dir(name), perm); err != nil {
		return err
	}
	if fi, err := d.root.Lstat(name); err == nil && !fi.IsDir() {
		if err := d.discard(name, fi, foreign(fi)); err != nil {
			return err
		}
	}
	if err := d.root.Mkdir(name, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("safefile: %w", err)
	}
	fi, err := d.root.Lstat(name)
	if err != nil {
		return fmt.Errorf("safefile: %w", err)
	}
	why := ownedPrivate(fi)
	if !fi.IsDir() {
		why = Kind(fi.Mode()) + ", not a directory"
	}
	if why != "" {
		return fmt.Errorf("safefile: refusing to keep state in %s: it is %s", filepath.Join(d.Name(), name), why)
	}
	return nil
}
