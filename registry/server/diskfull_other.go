//go:build !unix && !windows

package server

// diskFull reports whether err is a write that failed for lack of space,
// which this system does not say.
func diskFull(error) bool { return false }
