//go:build !unix

package layout

// openFlags is empty where the system has no O_NOFOLLOW: there, the Lstat
// check before opening is what refuses symbolic links and FIFOs.
const openFlags = 0
