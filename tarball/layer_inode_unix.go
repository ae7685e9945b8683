//go:build unix

package tarball

import (
	"io/fs"
	"syscall"
)

// fileID identifies a file by device and inode.
type fileID struct{ dev, ino uint64 }

// inodeOf returns the identity of a file that has more than one link.
func inodeOf(info fs.FileInfo) (fileID, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st.Nlink < 2 {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}
