//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package server

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/skiffoci/skiff/internal/safefile"
)

// lockFile holds an flock(2) on the lock file of the root d, which the
// kernel releases when the process ends, however it ends. The file stays:
// removing it would let a process that opened it before lock a file no
// one else sees.
func lockFile(d *safefile.Dir, create bool) (*RootLock, error) {
	path := filepath.Join(d.Name(), LockFile)
	// Look first whether a process holds the file there, whoever owns it:
	// Reuse would remove another user's file, and with it their lock.
	f, err := d.OpenFile(LockFile, os.O_RDONLY)
	switch {
	case err == nil:
		if err := flock(f, path); err != nil || !create {
			return closeOnError(&RootLock{f: f}, f, err)
		}
		f.Close() // free: Reuse keeps it if it is ours, and replaces it if not
	case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, safefile.ErrNotRegular):
		return nil, err
	case !create:
		return &RootLock{}, nil // nothing, or a planted link: no one holds the root
	}
	f, _, err = d.Reuse(LockFile, 0o644)
	if err != nil {
		return nil, err
	}
	if err := flock(f, path); err != nil {
		return closeOnError(nil, f, err)
	}
	return closeOnError(&RootLock{f: f}, f, writePID(f))
}

// flock takes an exclusive flock on f, or returns a *LockedError.
func flock(f *os.File, path string) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return &LockedError{Path: path}
	}
	if err != nil {
		return &fs.PathError{Op: "flock", Path: path, Err: err}
	}
	return nil
}

func closeOnError(l *RootLock, f *os.File, err error) (*RootLock, error) {
	if err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}
