package tarball

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// maxLinkHops bounds how many symbolic or hard links one lookup follows, as
// Linux's MAXSYMLINKS does; a longer chain is taken for a cycle.
const maxLinkHops = 40

// ErrLinkCycle is wrapped by the error for a chain of links inside a
// tarball that loops or is longer than 40 hops.
var ErrLinkCycle = errors.New("link cycle or chain too long")

// archivePath checks a path found in manifest.json, index.json or a link
// target and returns its clean, root-relative form. Absolute paths and
// paths that climb above the archive root are rejected, as are paths that
// name the root itself.
func archivePath(p string) (string, error) {
	if path.IsAbs(p) || strings.HasPrefix(p, `\`) {
		return "", &UnsafePathError{Name: p, Reason: "absolute path"}
	}
	clean, err := CleanPath(p)
	if err != nil {
		return "", err
	}
	if clean == "." {
		return "", &UnsafePathError{Name: p, Reason: "names the archive root"}
	}
	return clean, nil
}

// linkTarget returns the archive path a link entry named from points at.
// A symlink's target is relative to the link's directory; a hard link's
// is relative to the archive root.
func linkTarget(from *tarEntry) (string, error) {
	target := from.linkname
	if from.typ == tar.TypeSymlink && !path.IsAbs(target) {
		target = path.Join(path.Dir(from.name), target)
	}
	return archivePath(target)
}

// resolve returns the regular-file entry that name leads to, following
// symbolic and hard links inside the archive. A missing entry wraps
// manifest.ErrNotFound; a link that leaves the archive is an
// *UnsafePathError; a loop wraps ErrLinkCycle.
func (r *Reader) resolve(name string) (*tarEntry, error) {
	p, err := archivePath(name)
	if err != nil {
		return nil, err
	}
	for range maxLinkHops + 1 {
		e, ok := r.entries[p]
		if !ok {
			return nil, fmt.Errorf("tarball: %q: %w in the archive", quoteTrim(name, 200), manifest.ErrNotFound)
		}
		switch e.typ {
		case tar.TypeReg:
			return e, nil
		case tar.TypeSymlink, tar.TypeLink:
			if p, err = linkTarget(e); err != nil {
				return nil, fmt.Errorf("tarball: %q: link %q: %w", quoteTrim(name, 200), e.name, err)
			}
		default:
			return nil, fmt.Errorf("tarball: %q is not a regular file", quoteTrim(name, 200))
		}
	}
	return nil, fmt.Errorf("tarball: %q: %w", quoteTrim(name, 200), ErrLinkCycle)
}
