package registryserver

import (
	"os"
	"path/filepath"
	"strconv"
)

// LockFile is the file in a served root that "skiff registry serve" and
// "skiff registry gc" lock, so that they never work on one root at once.
const LockFile = ".lock"

// LockedError is the answer of LockRoot when another process holds the
// lock.
type LockedError struct {
	Path string // the lock file
	// Stale is set where locks are plain files (not flock): a process
	// that crashed leaves the file behind.
	Stale bool
}

func (e *LockedError) Error() string {
	msg := "registryserver: " + e.Path + " is locked: a skiff registry serve or gc is using " + filepath.Dir(e.Path)
	if e.Stale {
		msg += " (if none runs, one crashed: remove the file)"
	}
	return msg
}

// RootLock is a lock held on a root; Unlock releases it.
type RootLock struct {
	f      *os.File
	remove bool // the lock is the file's existence
}

// LockRoot takes the lock of root, which must exist, or returns a
// *LockedError when another process holds it. With create false (a dry
// run that must not change the root) a missing lock file is not created:
// no server holds the root then, and the lock returned holds nothing. The
// lock dies with the process.
func LockRoot(root string, create bool) (*RootLock, error) {
	return lockFile(filepath.Join(root, LockFile), create)
}

// Unlock releases the lock.
func (l *RootLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	if l.remove {
		if rerr := os.Remove(l.f.Name()); err == nil {
			err = rerr
		}
	}
	return err
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}
