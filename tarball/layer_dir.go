package tarball

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"
)

// AddDir writes the contents of the directory dir (not dir itself) as
// entries of the layer, in lexical order: regular files, directories,
// symlinks (recorded, never followed), devices and FIFOs, with their modes.
// Sockets are skipped. Files that share an inode are written once and then
// as hard links, where the platform reports inodes. Owners and times follow
// the LayerOptions given to NewLayerWriter.
func (lw *LayerWriter) AddDir(ctx context.Context, dir string) error {
	if lw.err != nil {
		return lw.err
	}
	a := &dirAdder{lw: lw, root: dir, inodes: map[fileID]string{}}
	if p := lw.opts.Prefix; p != "" && p != "." {
		if clean, err := CleanPath(p); err != nil || clean != p || path.IsAbs(p) {
			return lw.fail(fmt.Errorf("tarball: prefix %q is not a clean relative name", p))
		}
		a.prefix = p
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("tarball: adding %s: %w", dir, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("tarball: adding %s: %w", dir, err)
		}
		if p == dir && a.prefix == "" {
			return nil
		}
		return a.add(p, d)
	})
}

// dirAdder carries the state of one AddDir walk.
type dirAdder struct {
	lw     *LayerWriter
	root   string
	prefix string            // LayerOptions.Prefix, "" for none
	inodes map[fileID]string // first entry name seen for a multiply linked inode
}

func (a *dirAdder) add(p string, d fs.DirEntry) error {
	if d.Type()&fs.ModeSocket != 0 {
		return nil
	}
	info, err := d.Info()
	if err != nil {
		return fmt.Errorf("tarball: adding %s: %w", p, err)
	}
	hdr, err := a.header(p, info)
	if err != nil {
		return err
	}
	if err := a.lw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	return a.copyFile(p, hdr.Size)
}

// header builds the normalised tar header for the file at p.
func (a *dirAdder) header(p string, info fs.FileInfo) (*tar.Header, error) {
	rel, err := filepath.Rel(a.root, p)
	if err != nil {
		return nil, fmt.Errorf("tarball: adding %s: %w", p, err)
	}
	var target string
	if info.Mode()&fs.ModeSymlink != 0 {
		if target, err = os.Readlink(p); err != nil {
			return nil, fmt.Errorf("tarball: adding %s: %w", p, err)
		}
	}
	hdr, err := tar.FileInfoHeader(info, filepath.ToSlash(target))
	if err != nil {
		return nil, fmt.Errorf("tarball: adding %s: %w", p, err)
	}
	hdr.Name = path.Join(a.prefix, filepath.ToSlash(rel))
	if info.IsDir() {
		hdr.Name += "/"
	}
	if a.prefix == "" {
		a.linkIfSeen(hdr, info)
	}
	a.lw.normalize(hdr)
	return hdr, nil
}

// linkIfSeen turns hdr into a hard link when its inode was already written.
func (a *dirAdder) linkIfSeen(hdr *tar.Header, info fs.FileInfo) {
	if hdr.Typeflag != tar.TypeReg {
		return
	}
	id, ok := inodeOf(info)
	if !ok {
		return
	}
	if first, seen := a.inodes[id]; seen {
		hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		return
	}
	a.inodes[id] = hdr.Name
}

// copyFile writes size bytes of the file at p, failing if it has changed
// size since it was listed.
func (a *dirAdder) copyFile(p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("tarball: adding %s: %w", p, err)
	}
	defer f.Close()
	n, err := io.Copy(a.lw, io.LimitReader(f, size))
	if err != nil {
		return fmt.Errorf("tarball: adding %s: %w", p, err)
	}
	if n != size {
		return a.lw.fail(fmt.Errorf("%s shrank from %d to %d bytes while being read", p, size, n))
	}
	return nil
}

// normalize makes hdr deterministic: fixed owners and times unless kept,
// and a format left for archive/tar to choose (USTAR, or PAX when a field
// needs it).
func (lw *LayerWriter) normalize(hdr *tar.Header) {
	if !lw.opts.KeepOwners {
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	}
	if !lw.opts.KeepTimes {
		hdr.ModTime = lw.opts.modTime()
	}
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Format = tar.FormatUnknown
}
