//go:build unix

package layout

import "syscall"

// openFlags make dirFS.Open refuse a symbolic link as the last element of a
// name, and return at once instead of waiting for a FIFO's writer.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
