//go:build unix

package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ours reports whether fi is a file skiff may write again: a regular file
// owned by the effective user, with one link.
func ours(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode().IsRegular() && int(st.Uid) == os.Geteuid() && st.Nlink == 1
}

// foreign says why fi is not ours, or "" when it is.
func foreign(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		return Kind(fi.Mode())
	case !ok:
		return "a file of unknown owner"
	case int(st.Uid) != os.Geteuid():
		return fmt.Sprintf("a file owned by uid %d", st.Uid)
	case st.Nlink != 1:
		return fmt.Sprintf("a file with %d hard links", st.Nlink)
	}
	return ""
}

// ownedPrivate says why the directory fi may not hold skiff's state, or
// "" when it may: it must be owned by the effective user and writable by
// no one else.
func ownedPrivate(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !ok:
		return "of unknown owner"
	case int(st.Uid) != os.Geteuid():
		return fmt.Sprintf("owned by uid %d, not by uid %d who runs skiff", st.Uid, os.Geteuid())
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Sprintf("writable by others (mode %04o)", fi.Mode().Perm())
	}
	return ""
}

// canSyncDir: a directory opened for reading can be flushed.
const canSyncDir = true

// cannotSync reports whether err says the file system cannot flush a
// directory, rather than that flushing it failed.
func cannotSync(err error) bool {
	return errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EINVAL)
}

// ownedByMe reports whether the effective user owns fi.
func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
