//go:build unix

package server

import (
	"errors"
	"syscall"
)

// diskFull reports whether err is a write that failed for lack of space:
// the disk is full, or the user's quota is.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
