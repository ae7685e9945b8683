package tarball

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

// File is the content of one entry of a layer built from memory by
// AddFiles or LayerFromFiles.
type File struct {
	// Data is the content of a regular file.
	Data []byte

	// Mode holds the permission bits and at most one type bit: none for a
	// regular file, fs.ModeDir or fs.ModeSymlink. Setuid, setgid and
	// sticky bits are kept. Permission bits of zero mean 0644 for a file,
	// 0755 for a directory and 0777 for a symlink.
	Mode fs.FileMode

	// Linkname is the target of a symlink.
	Linkname string

	// Uid and Gid are the numeric owner; zero by default.
	Uid, Gid int
}

// AddFiles writes files as entries of the layer, sorted by name. Names are
// cleaned with CleanPath. Parent directories that files does not list are
// written too, with mode 0755, before their contents. Owners are the
// files' Uid and Gid; times are LayerOptions.ModTime, or the Unix epoch.
func (lw *LayerWriter) AddFiles(files map[string]File) error {
	if lw.err != nil {
		return lw.err
	}
	hdrs, err := memHeaders(files)
	if err != nil {
		return err
	}
	for _, h := range hdrs {
		h.hdr.ModTime = lw.opts.modTime()
		if err := lw.WriteHeader(h.hdr); err != nil {
			return err
		}
		if _, err := lw.Write(h.data); err != nil {
			return err
		}
	}
	return nil
}

type memEntry struct {
	hdr  *tar.Header
	data []byte
}

// memHeaders returns the headers for files plus their implied parent
// directories, sorted by name.
func memHeaders(files map[string]File) ([]memEntry, error) {
	byName := map[string]memEntry{}
	for name, f := range files {
		clean, err := CleanPath(name)
		if err != nil {
			return nil, err
		}
		if clean == "." {
			return nil, fmt.Errorf("tarball: in-memory file %q names the root", name)
		}
		if _, dup := byName[clean]; dup {
			return nil, fmt.Errorf("tarball: in-memory files: two names clean to %q", clean)
		}
		hdr, err := memHeader(clean, f)
		if err != nil {
			return nil, err
		}
		byName[clean] = memEntry{hdr: hdr, data: f.Data}
	}
	if err := addParents(byName); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]memEntry, len(names))
	for i, n := range names {
		out[i] = byName[n]
	}
	return out, nil
}

// memHeader returns the tar header of f under the clean name.
func memHeader(name string, f File) (*tar.Header, error) {
	hdr := &tar.Header{Name: name, Uid: f.Uid, Gid: f.Gid}
	hdr.Mode = int64(f.Mode.Perm()) | specialBits(f.Mode)
	switch f.Mode.Type() {
	case 0:
		hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Data))
		defaultPerm(hdr, 0o644)
	case fs.ModeDir:
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		defaultPerm(hdr, 0o755)
	case fs.ModeSymlink:
		if f.Linkname == "" {
			return nil, fmt.Errorf("tarball: in-memory symlink %q has no target", name)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Linkname
		defaultPerm(hdr, 0o777)
	default:
		return nil, fmt.Errorf("tarball: in-memory file %q: unsupported mode %v", name, f.Mode)
	}
	if hdr.Typeflag != tar.TypeReg && len(f.Data) > 0 {
		return nil, fmt.Errorf("tarball: in-memory file %q: only regular files have data", name)
	}
	return hdr, nil
}

// specialBits returns the tar mode bits for setuid, setgid and sticky.
func specialBits(m fs.FileMode) int64 {
	var bits int64
	if m&fs.ModeSetuid != 0 {
		bits |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		bits |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		bits |= 0o1000
	}
	return bits
}

func defaultPerm(hdr *tar.Header, perm int64) {
	if hdr.Mode&0o777 == 0 {
		hdr.Mode |= perm
	}
}

// addParents adds a 0755 directory for every missing ancestor, and fails
// when a listed non-directory is some entry's ancestor.
func addParents(byName map[string]memEntry) error {
	for name := range byName {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			e, ok := byName[dir]
			if ok && e.hdr.Typeflag != tar.TypeDir {
				return fmt.Errorf("tarball: in-memory file %q is inside %q, which is not a directory", name, dir)
			}
			if ok {
				continue
			}
			byName[dir] = memEntry{hdr: &tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755}}
		}
	}
	return nil
}
