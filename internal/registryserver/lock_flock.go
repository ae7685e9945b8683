//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package registryserver

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// lockFile holds an flock(2) on path, which the kernel releases when the
// process ends, however it ends. The file stays: removing it would let a
// process that opened it before lock a file no one else sees.
func lockFile(path string, create bool) (*RootLock, error) {
	flags := os.O_RDONLY
	if create {
		flags = os.O_RDWR | os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if !create && errors.Is(err, fs.ErrNotExist) {
		return &RootLock{}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Path: path}
		}
		return nil, &fs.PathError{Op: "flock", Path: path, Err: err}
	}
	if create {
		if err := writePID(f); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &RootLock{f: f}, nil
}
