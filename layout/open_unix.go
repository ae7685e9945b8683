//go:build unix

package layout

import (
	"os"
	"syscall"
)

// openFlags make dirFS.Open refuse a symbolic link as the last element of a
// name, and return at once instead of waiting for a FIFO's writer.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// syncDir makes a rename in dir durable. It is best effort: some file
// systems cannot sync a directory, and the rename has happened anyway.
func syncDir(dir string) {
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	f.Sync()
	f.Close()
}
