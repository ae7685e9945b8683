package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/skiffoci/skiff/internal/safefile"
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
	msg := "server: " + e.Path + " is locked: a skiff registry serve or gc is using " + filepath.Dir(e.Path)
	if e.Stale {
		msg += " (if none runs, one crashed: remove the file)"
	}
	return msg
}

// RootLock is a lock held on a root; Unlock releases it.
type RootLock struct {
	f *os.File
	d *safefile.Dir // the root, when the lock is the file's existence
}

// LockRoot takes the lock of root, which must exist, or returns a
// *LockedError when another process holds it. With create false (a dry
// run that must not change the root) a missing lock file is not created:
// no server holds the root then, and the lock returned holds nothing. The
// lock dies with the process.
//
// The lock file is opened through the root without following a link, and
// written only when it is a file of the process's own (safefile's Reuse):
// a link or another user's file planted at its name is removed, with one
// line to safefile's reporter, and a new file made. A lock file that a
// running process holds is respected, whoever owns it.
func LockRoot(root string, create bool) (*RootLock, error) {
	d, err := safefile.OpenDir(root)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	l, err := lockFile(d, create)
	if err != nil || l.d == nil {
		d.Close()
	}
	return l, err
}

// Unlock releases the lock.
func (l *RootLock) Unlock() error {
	if l == nil {
		return nil
	}
	var err error
	if l.f != nil {
		err = l.f.Close()
	}
	if l.d != nil {
		err = errors.Join(err, l.d.Remove(LockFile), l.d.Close())
	}
	return err
}
