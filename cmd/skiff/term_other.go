//go:build !linux && !windows && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package main

// fdIsTerminal says no where skiff has no way to ask: progress stays off
// unless --progress asks for it.
func fdIsTerminal(fd uintptr) bool { return false }
