//go:build windows

package main

import "syscall"

// fdIsTerminal reports whether the handle is a console: only consoles
// have a console mode.
func fdIsTerminal(fd uintptr) bool {
	var mode uint32
	return syscall.GetConsoleMode(syscall.Handle(fd), &mode) == nil
}
