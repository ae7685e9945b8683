//go:build !unix

package tarball

import "io/fs"

// fileID identifies a file by device and inode.
type fileID struct{ dev, ino uint64 }

// inodeOf reports no identity: hard links are not detected on this
// platform, so each link is written as a separate file.
func inodeOf(fs.FileInfo) (fileID, bool) { return fileID{}, false }
