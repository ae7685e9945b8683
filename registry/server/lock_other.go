//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package server

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/skiffoci/skiff/internal/safefile"
)

// lockFile takes the lock by creating the lock file of the root d, which
// must not exist (a link there counts: it is never replaced); Unlock
// removes it. A process that dies without unlocking leaves it behind,
// which LockedError says.
func lockFile(d *safefile.Dir, create bool) (*RootLock, error) {
	path := filepath.Join(d.Name(), LockFile)
	if !create {
		if _, err := d.Root().Lstat(LockFile); err == nil {
			return nil, &LockedError{Path: path, Stale: true}
		}
		return &RootLock{}, nil
	}
	err := d.CreateNew(LockFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, &LockedError{Path: path, Stale: true}
	}
	if err != nil {
		return nil, err
	}
	return &RootLock{d: d}, nil
}
