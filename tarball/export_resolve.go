package tarball

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// maxSymlinkHops bounds symlink resolution, so that a loop fails.
const maxSymlinkHops = 255

// resolve returns the symlink-free path, relative to the root, that the
// directory rel names when the root is taken as "/": each element is
// checked with Lstat, a symlink is replaced by its target (an absolute
// target restarts at the root) and ".." never climbs above the root. When
// create is set, missing directories are made with mode 0755; otherwise a
// missing element is an error. The result is always a directory.
func (x *extractor) resolve(rel string, create bool) (string, error) {
	todo := splitElems(rel)
	var done []string
	for hops := 0; len(todo) > 0; {
		elem := todo[0]
		todo = todo[1:]
		if elem == ".." {
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		next := path.Join(append(done, elem)...)
		target, err := x.step(next, create)
		if err != nil {
			return "", err
		}
		if target == nil {
			done = append(done, elem)
			continue
		}
		if hops++; hops > maxSymlinkHops {
			return "", fmt.Errorf("too many symlinks resolving %q", rel)
		}
		if strings.HasPrefix(*target, "/") {
			done = done[:0]
		}
		todo = append(splitElems(*target), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// step examines next, whose parent is resolved: it returns nil when next is
// (or has just been made) a directory, or the target when it is a symlink.
func (x *extractor) step(next string, create bool) (*string, error) {
	fi, err := x.root.Lstat(next)
	if errors.Is(err, fs.ErrNotExist) && create {
		if err := x.root.Mkdir(next, 0o755); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch {
	case fi.IsDir():
		return nil, nil
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := x.root.Readlink(next)
		if err != nil {
			return nil, err
		}
		return &target, nil
	}
	return nil, fmt.Errorf("%q is not a directory", next)
}

// splitElems splits a slash-separated path into its elements, dropping
// empty ones and ".".
func splitElems(p string) []string {
	var out []string
	for _, e := range strings.Split(p, "/") {
		if e != "" && e != "." {
			out = append(out, e)
		}
	}
	return out
}

// removeAll removes rel and, if it is a directory, everything in it, using
// only the root's operations.
func (x *extractor) removeAll(rel string) error {
	fi, err := x.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		if err := x.removeChildren(rel); err != nil {
			return err
		}
	}
	return x.root.Remove(rel)
}

func (x *extractor) removeChildren(rel string) error {
	d, err := x.root.Open(rel)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := x.removeAll(path.Join(rel, n)); err != nil {
			return err
		}
	}
	return nil
}
