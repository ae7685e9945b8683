//go:build !unix

package safefile

import "io/fs"

// ours reports whether fi is a file skiff may write again. Where files
// have no owner and link count the system reports, it must be a regular
// file.
func ours(fi fs.FileInfo) bool { return fi.Mode().IsRegular() }

// foreign says why fi is not ours, or "" when it is.
func foreign(fi fs.FileInfo) string {
	if fi.Mode().IsRegular() {
		return ""
	}
	return Kind(fi.Mode())
}

// ownedPrivate always accepts a directory where the system reports no
// owner.
func ownedPrivate(fi fs.FileInfo) string { return "" }

// canSyncDir: Windows flushes no directory opened for reading.
const canSyncDir = false

func cannotSync(err error) bool { return true }

// ownedByMe is true where files have no owner the system reports.
func ownedByMe(fs.FileInfo) bool { return true }
