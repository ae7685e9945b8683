//go:build unix

package safefile

import "syscall"

// nonblock makes an open return at once instead of waiting for a FIFO's
// other end; regular files ignore it.
const nonblock = syscall.O_NONBLOCK
