package tarball

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// errExtractStopped ends Flatten's writes when extraction has failed.
var errExtractStopped = errors.New("tarball: extraction stopped")

// Extract writes the filesystem that results from applying layers in
// order, as Flatten computes it, into the directory dir, creating dir if
// needed. Existing files at the same paths are replaced.
//
// Nothing is written outside dir. Every operation goes through an os.Root
// opened on dir, and paths are resolved one element at a time inside it:
// a symlink is followed as if dir were the filesystem root, so "link ->
// /outside" followed by "link/file" creates dir/outside/file, and a symlink
// climbing with ".." stops at dir. A hard link's target is resolved the
// same way and must be a non-directory inside dir; a link to a symlink
// becomes a copy of the symlink. Unsafe names fail with an *UnsafePathError.
//
// Regular files, directories, symlinks and hard links are created with
// their permission bits (setuid, setgid and sticky included) and
// modification times. Owners are not changed, and device nodes and FIFOs
// are skipped. Directory modes are applied last, so read-only directories
// can still be filled.
//
// Symlinks, hard links and times are made through the os.Root too, never
// through dir's host path, so a process that swaps a directory under dir
// for a symlink while Extract runs cannot redirect them outside dir.
func Extract(ctx context.Context, dir string, layers []Opener, opts *ExportOptions) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("tarball: extract: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tarball: extract: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("tarball: extract: %w", err)
	}
	defer root.Close()
	return ExtractRoot(ctx, root, layers, opts)
}

// ExtractRoot is Extract into the directory root is open on, for a caller
// that holds the directory open already (made it, checked its owner and
// mode): no path of it is looked up again, so nobody who can write its
// parent can put another directory in its place.
func ExtractRoot(ctx context.Context, root *os.Root, layers []Opener, opts *ExportOptions) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := Flatten(ctx, pw, layers, opts)
		pw.CloseWithError(err)
		done <- err
	}()
	x := &extractor{root: root}
	xerr := x.extract(tar.NewReader(pr))
	pr.CloseWithError(errExtractStopped)
	ferr := <-done
	if ferr != nil && !errors.Is(ferr, errExtractStopped) {
		return ferr
	}
	return xerr
}

// extractor writes a flattened tar stream under root.
type extractor struct {
	root *os.Root
	dirs []dirMeta // directory modes and times, applied at the end
}

type dirMeta struct {
	rel   string
	mode  fs.FileMode
	mtime time.Time
}

func (x *extractor) extract(tr *tar.Reader) error {
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return x.finishDirs()
		}
		if err != nil {
			return err
		}
		if err := x.entry(tr, hdr); err != nil {
			return fmt.Errorf("tarball: extract %q: %w", quoteTrim(hdr.Name, 200), err)
		}
	}
}

func (x *extractor) entry(tr *tar.Reader, hdr *tar.Header) error {
	name, err := CleanPath(hdr.Name)
	if err != nil || name == "." {
		return err
	}
	parent, err := x.resolve(path.Dir(name), true)
	if err != nil {
		return err
	}
	rel := path.Join(parent, path.Base(name))
	if err := x.clear(rel, hdr.Typeflag == tar.TypeDir); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.mkdir(rel, hdr)
	case tar.TypeReg:
		return x.writeFile(rel, hdr, tr)
	case tar.TypeSymlink:
		return x.root.Symlink(hdr.Linkname, rel)
	case tar.TypeLink:
		return x.link(rel, hdr.Linkname)
	}
	return nil
}

// clear removes whatever is at rel, unless both it and the new entry are
// directories.
func (x *extractor) clear(rel string, isDir bool) error {
	fi, err := x.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if isDir && fi.IsDir() {
		return nil
	}
	return x.removeAll(rel)
}

func (x *extractor) mkdir(rel string, hdr *tar.Header) error {
	x.dirs = append(x.dirs, dirMeta{rel: rel, mode: entryMode(hdr), mtime: hdr.ModTime})
	err := x.root.Mkdir(rel, 0o755)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	return err
}

func (x *extractor) writeFile(rel string, hdr *tar.Header, r io.Reader) error {
	f, err := x.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Chmod(entryMode(hdr))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return x.root.Chtimes(rel, hdr.ModTime, hdr.ModTime)
}

// link makes rel a hard link to the archive path target, resolved inside
// the root without following a final symlink.
func (x *extractor) link(rel, target string) error {
	clean, err := CleanPath(target)
	if err != nil {
		return err
	}
	if clean == "." {
		return &UnsafePathError{Name: target, Reason: "hard link to the root"}
	}
	parent, err := x.resolve(path.Dir(clean), false)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	old := path.Join(parent, path.Base(clean))
	fi, err := x.root.Lstat(old)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	switch {
	case fi.IsDir():
		return fmt.Errorf("hard link target %q is a directory", target)
	case fi.Mode()&fs.ModeSymlink != 0:
		// Some systems' link(2) follows a symlink, which could tie a name
		// inside the root to a file outside it: copy the symlink instead.
		dest, err := x.root.Readlink(old)
		if err != nil {
			return err
		}
		return x.root.Symlink(dest, rel)
	}
	return x.root.Link(old, rel)
}

// finishDirs applies directory modes and times, deepest first, so that a
// read-only directory is not closed before its children are done.
func (x *extractor) finishDirs() error {
	sort.SliceStable(x.dirs, func(i, j int) bool {
		return strings.Count(x.dirs[i].rel, "/") > strings.Count(x.dirs[j].rel, "/")
	})
	for _, d := range x.dirs {
		f, err := x.root.Open(d.rel)
		if err != nil {
			return fmt.Errorf("tarball: extract: %w", err)
		}
		err = f.Chmod(d.mode)
		f.Close()
		if err == nil {
			err = x.root.Chtimes(d.rel, d.mtime, d.mtime)
		}
		if err != nil {
			return fmt.Errorf("tarball: extract: %w", err)
		}
	}
	return nil
}

// entryMode returns the permission and special bits of hdr.
func entryMode(hdr *tar.Header) fs.FileMode {
	return hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}
