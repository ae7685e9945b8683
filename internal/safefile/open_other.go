//go:build !unix

package safefile

// nonblock is empty where the system has no O_NONBLOCK: there, the Lstat
// before opening is what refuses a FIFO.
const nonblock = 0
