//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package registryserver

import (
	"errors"
	"io/fs"
	"os"
)

// lockFile takes the lock by creating path exclusively; Unlock removes
// it. A process that dies without unlocking leaves it behind, which
// LockedError says.
func lockFile(path string, create bool) (*RootLock, error) {
	if !create {
		if _, err := os.Lstat(path); err == nil {
			return nil, &LockedError{Path: path, Stale: true}
		}
		return &RootLock{}, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, &LockedError{Path: path, Stale: true}
	}
	if err != nil {
		return nil, err
	}
	if err := writePID(f); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return &RootLock{f: f, remove: true}, nil
}
